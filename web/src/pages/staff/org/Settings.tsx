// An organization's name, description and lab and generation settings, with the server's validation
// errors at their fields.
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Field, ProblemView, Skeleton, TextAreaField } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { OrganizationSettingsQuery } from '../../../gql/graphql';
import { fieldErrorMap, problemOf, typedError } from '../../../lib/errors';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { organizationLinks, SectionNav } from '../StaffNav';

const SettingsQuery = graphql(`
  query OrganizationSettings($slug: String!) {
    organization(slug: $slug) {
      id
      name
      description
      settings {
        labIdleTimeoutSeconds labStopTimeoutSeconds labMaxSessionMinutes labMaxConcurrentPerUser
        labMaxRunningPerOrganization labMemoryMb labCpus generationDailyTokenBudget
      }
    }
  }
`);

const UpdateOrganization = graphql(`
  mutation UpdateOrganizationSettings($input: UpdateOrganizationInput!) {
    updateOrganization(input: $input) {
      __typename
      ... on OrganizationSuccess {
        organization {
          id name description
          settings {
            labIdleTimeoutSeconds labStopTimeoutSeconds labMaxSessionMinutes labMaxConcurrentPerUser
            labMaxRunningPerOrganization labMemoryMb labCpus generationDailyTokenBudget
          }
        }
      }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);

type Organization = NonNullable<OrganizationSettingsQuery['organization']>;
type SettingKey = keyof Omit<Organization['settings'], '__typename'>;

// Seconds are shown in minutes: that is how people think of lab timeouts.
// `clearable`: an empty field sends null, which puts the platform default back; other empty fields change nothing.
const SETTINGS: { key: SettingKey; label: string; hint?: string; minutes?: boolean; step?: string; clearable?: boolean }[] = [
  { key: 'labIdleTimeoutSeconds', label: 'Pause an idle lab after (minutes)', minutes: true },
  { key: 'labStopTimeoutSeconds', label: 'Stop a paused lab after (minutes)', minutes: true },
  { key: 'labMaxSessionMinutes', label: 'Longest lab session (minutes)' },
  { key: 'labMaxConcurrentPerUser', label: 'Running labs per member' },
  { key: 'labMaxRunningPerOrganization', label: 'Running labs in the organization' },
  { key: 'labMemoryMb', label: 'Lab memory (MB)' },
  { key: 'labCpus', label: 'Lab CPUs', step: '0.1' },
  { key: 'generationDailyTokenBudget', label: 'AI generation tokens per day', hint: 'Empty: the platform default.', clearable: true },
];

export default function SettingsPage() {
  const { slug = '' } = useParams();
  useTitle('Organization settings');
  return (
    <RequireAccess allowed={(a) => a.siteAdmin || a.administers.some((o) => o.slug === slug)}>
      <SettingsLoader slug={slug} />
    </RequireAccess>
  );
}

function SettingsLoader({ slug }: { slug: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: SettingsQuery, variables: { slug } });
  const organization = data?.organization;
  if (!organization) {
    const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
    if (problem && !fetching) return <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} />;
    return <Skeleton lines={10} label="Loading the settings" />;
  }
  return (
    <div className="stack-lg">
      <h1>Settings of {organization.name}</h1>
      <SectionNav label="Organization" links={organizationLinks(slug)} />
      <SettingsForm organization={organization} />
    </div>
  );
}

function SettingsForm({ organization }: { organization: Organization }) {
  const toast = useToast();
  const shown = (key: SettingKey) => {
    const value = organization.settings[key];
    if (value === null || value === undefined) return '';
    return String(SETTINGS.find((s) => s.key === key)?.minutes ? Number(value) / 60 : value);
  };
  const [name, setName] = useState(organization.name);
  const [description, setDescription] = useState(organization.description);
  const [values, setValues] = useState(() => Object.fromEntries(SETTINGS.map((s) => [s.key, shown(s.key)])) as Record<SettingKey, string>);
  const [result, update] = useMutation(UpdateOrganization);
  const error = typedError(result.data?.updateOrganization);
  const fields = fieldErrorMap(error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const settings: Record<string, number | null> = {};
    for (const s of SETTINGS) {
      const text = values[s.key].trim();
      if (text === '') {
        if (s.clearable && organization.settings[s.key] != null) settings[s.key] = null;
        continue;
      }
      settings[s.key] = s.minutes ? Math.round(Number(text) * 60) : Number(text);
    }
    const done = await update({ input: { id: organization.id, name, description, settings } });
    if (done.data?.updateOrganization.__typename === 'OrganizationSuccess') toast('Settings saved.', 'success');
  };
  return (
    <section className="card" aria-labelledby="org-settings">
      <h2 id="org-settings">Organization</h2>
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      {error && Object.keys(fields).length > 0 && <Banner>Some settings need a change: see the fields marked below.</Banner>}
      {problemOf(result.error) && <Banner>{problemOf(result.error)?.message}</Banner>}
      <form onSubmit={submit} noValidate className="stack">
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} />
        <TextAreaField label="Description" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} error={fields.description} />
        <fieldset>
          <legend>Labs and AI generation</legend>
          <div className="columns">
            {SETTINGS.map((s) => (
              <Field
                key={s.key}
                label={s.label}
                hint={s.hint}
                type="number"
                min="0"
                step={s.step ?? (s.minutes ? 'any' : '1')}
                value={values[s.key]}
                onChange={(e) => setValues({ ...values, [s.key]: e.target.value })}
                error={fields[`settings.${s.key}`]}
              />
            ))}
          </div>
        </fieldset>
        <div>
          <button type="submit" className="button button--primary" disabled={result.fetching}>
            Save settings
          </button>
        </div>
      </form>
    </section>
  );
}
