// What the journeys need besides the browser: the mails the platform wrote, a few API calls for set-up
// that belong to other roles (an admin's invitation), and the accessibility check.
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DEMO_PASSWORD = process.env.COURSEGRAPH_DEMO_PASSWORD ?? 'coursegraph-demo';
const MAIL_DIR = process.env.COURSEGRAPH_MAIL_DIR ?? '../.coursegraph/mail';

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** The first link in the newest mail to `to` whose URL path is `path`, waiting for the worker to send it. */
export async function linkFromMail(to: string, path: string, timeoutMs = 90_000): Promise<string> {
  const pattern = new RegExp(`https?://[^\\s"'<>]+${path.replace(/\//g, '\\/')}\\?[^\\s"'<>]+`);
  let found: string | undefined;
  await expect
    .poll(
      () => {
        if (!existsSync(MAIL_DIR)) return false; // the worker has not written its first mail yet
        const files = readdirSync(MAIL_DIR)
          .filter((name) => name.endsWith('.eml'))
          .map((name) => join(MAIL_DIR, name))
          .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
        for (const file of files) {
          const text = readFileSync(file, 'utf8').replace(/=\r?\n/g, '');
          if (!new RegExp(`^To: .*${to.replace(/[.+]/g, '\\$&')}`, 'mi').test(text)) continue;
          const match = pattern.exec(text);
          if (match) {
            found = match[0].replace(/&amp;/g, '&');
            return true;
          }
        }
        return false;
      },
      { timeout: timeoutMs, message: `a mail to ${to} with a link to ${path}` },
    )
    .toBe(true);
  // Open mailed links on the origin under test (the platform's public URL may name another host).
  const url = new URL(found!);
  return url.pathname + url.search;
}

export async function graphql<T = any>(page: Page, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const response = await page.request.post('/graphql', {
    headers: { 'Content-Type': 'application/json', 'X-GraphQL-CSRF': '1', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    data: { query, variables },
  });
  const body = await response.json();
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data as T;
}

export async function apiToken(page: Page, email: string, password = DEMO_PASSWORD): Promise<string> {
  const data = await graphql(page, 'mutation($input: LoginInput!) { login(input: $input) { __typename ... on LoginSuccess { accessToken } ... on Error { message } } }', {
    input: { email, password },
  });
  expect(data.login.__typename, data.login.message).toBe('LoginSuccess');
  return data.login.accessToken;
}

/** No serious or critical accessibility violation on the page as it is now. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), `accessibility of ${name}`).toEqual([]);
}

export async function signIn(page: Page, email: string, password = DEMO_PASSWORD): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * A confirmed student of Demo Academy enrolled in `courseTitle`, made through the API (set-up for a
 * journey that is about something else).
 */
export async function freshStudent(page: Page, courseTitle: string, fullName = 'Fresh Student'): Promise<{ email: string; password: string }> {
  const email = uniqueEmail('learner');
  const password = 'a passphrase for a fresh student';
  await register(page, email, password, fullName);
  const verify = new URL(await linkFromMail(email, '/verify-email'), 'http://x').searchParams.get('token');
  await graphql(page, 'mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) { __typename } }', { input: { token: verify } });
  const admin = await apiToken(page, 'admin@coursegraph.dev');
  const { organization } = await graphql(page, '{ organization(slug: "demo-academy") { id } }', {}, admin);
  await graphql(page, 'mutation($input: InviteMemberInput!) { inviteMember(input: $input) { __typename } }', { input: { organizationId: organization.id, email, role: 'STUDENT' } }, admin);
  const invitation = new URL(await linkFromMail(email, '/invitations/accept'), 'http://x').searchParams.get('token');
  const token = await apiToken(page, email, password);
  const accepted = await graphql(page, 'mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { __typename } }', { input: { token: invitation } }, token);
  expect(accepted.acceptInvitation.__typename).toBe('MembershipSuccess');
  const { courses } = await graphql(page, 'query($q: String) { courses(filter: { search: $q, status: PUBLISHED }) { nodes { id title } } }', { q: courseTitle }, token);
  const course = courses.nodes.find((c: { title: string }) => c.title === courseTitle);
  expect(course, `${courseTitle} in the catalog`).toBeTruthy();
  // Enrollment reads the membership projection, which the acceptance just wrote through.
  await expect
    .poll(async () => (await graphql(page, 'mutation($input: EnrollInput!) { enroll(input: $input) { __typename } }', { input: { courseId: course.id } }, token)).enroll.__typename)
    .toMatch(/EnrollmentSuccess|ConflictError/);
  return { email, password };
}

/** An account made through the API (the platform under test must allow many sign-ups from one address). */
export async function register(page: Page, email: string, password: string, fullName: string): Promise<void> {
  const data = await graphql(page, 'mutation($input: RegisterInput!) { register(input: $input) { __typename ... on Error { message } } }', {
    input: { email, password, fullName },
  });
  expect(data.register.__typename, data.register.message).toBe('MessageSuccess');
}
