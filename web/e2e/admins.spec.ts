// Through the UI: an organization admin invites an instructor (resends it, cancels another invitation),
// changes a member's role, sets and clears a setting, builds and reorders a track, reads the report; a site
// admin finds an organization and deactivates a user, who can then no longer sign in. Pages a student
// cannot use answer a clear page.
import { expect, test } from '@playwright/test';
import { expectAccessible, freshStudent, signIn, uniqueEmail } from './support';

test('admins manage members and accounts', async ({ page }) => {
  const member = await freshStudent(page, 'Python Foundations');
  page.on('dialog', (dialog) => void dialog.accept());

  // A student sees no staff section, and a staff page answers the forbidden page, not a crash.
  await page.goto('/sign-in');
  await signIn(page, member.email, member.password);
  await expect(page.getByRole('heading', { name: /^Welcome/ })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Teach' })).toHaveCount(0);
  await page.goto('/admin/users');
  await expect(page.getByRole('heading', { name: 'You don’t have access to this page' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

  await signIn(page, 'admin@coursegraph.dev');
  await page.getByRole('link', { name: /^Organization/ }).click();
  await expect(page.getByRole('heading', { name: 'Members of Demo Academy' })).toBeVisible();
  await expectAccessible(page, 'organization members');

  const invited = uniqueEmail('new-instructor');
  await page.getByLabel('Email').fill(invited);
  await page.getByLabel('Role', { exact: true }).selectOption('INSTRUCTOR');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByText(`Invitation mailed to ${invited}`)).toBeVisible();
  // Pending invitations: one resent (a new link), another cancelled.
  const pending = page.getByRole('region', { name: 'Pending invitations' });
  await expect(pending.getByRole('cell', { name: invited, exact: true })).toBeVisible();
  await pending.getByRole('button', { name: `Resend the invitation of ${invited}` }).click();
  await expect(page.getByText(`A new link was mailed to ${invited}.`)).toBeVisible();
  const withdrawn = uniqueEmail('withdrawn');
  await page.getByLabel('Email').fill(withdrawn);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(pending.getByRole('cell', { name: withdrawn, exact: true })).toBeVisible();
  await pending.getByRole('button', { name: `Cancel the invitation of ${withdrawn}` }).click();
  await expect(page.getByText(`The invitation of ${withdrawn} was cancelled.`)).toBeVisible();
  await expect(pending.getByRole('cell', { name: withdrawn, exact: true })).toHaveCount(0);
  await expect(pending.getByRole('cell', { name: invited, exact: true })).toBeVisible();
  await expectAccessible(page, 'organization members with pending invitations');

  await page.getByLabel('Filter by role').selectOption('STUDENT');
  // Site admins see members' emails: the row of this journey's own student.
  const row = page.getByRole('row', { name: new RegExp(member.email) });
  await row.getByRole('combobox').selectOption('INSTRUCTOR');
  await row.getByRole('button', { name: 'Save role' }).click();
  await expect(page.getByText(/Fresh Student is now instructor/)).toBeVisible();

  // Settings: a value out of range is refused at its field.
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('Running labs per member').fill('50');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByLabel('Running labs per member')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page, 'organization settings with an error');
  await page.getByLabel('Running labs per member').fill('2');
  await page.getByLabel('AI generation tokens per day').fill('750000');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByText('Settings saved.')).toBeVisible();
  // Emptied, the budget goes back to the platform default (null), as a reload shows.
  await page.getByLabel('AI generation tokens per day').fill('');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByText('Settings saved.').last()).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Running labs per member')).toHaveValue('2');
  await expect(page.getByLabel('AI generation tokens per day')).toHaveValue('');

  // A track: two courses, reordered with the keyboard.
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: 'Tracks' }).click();
  const track = `Journey track ${Date.now()}`;
  await page.getByLabel('Track name').fill(track);
  await page.getByRole('button', { name: 'Create track' }).click();
  const trackCard = page.getByRole('region', { name: track });
  await trackCard.getByLabel(`Add a course to “${track}”`).selectOption({ label: 'Python Foundations' });
  await trackCard.getByRole('button', { name: 'Add course' }).click();
  await expect(page.getByText('Python Foundations added to the track.')).toBeVisible();
  await trackCard.getByLabel(`Add a course to “${track}”`).selectOption({ label: 'Web APIs with FastAPI' });
  await trackCard.getByRole('button', { name: 'Add course' }).click();
  await expect(trackCard.getByText('2. Web APIs with FastAPI')).toBeVisible();
  await trackCard.getByRole('button', { name: 'Move course “Web APIs with FastAPI” up' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByText('Course order saved.')).toBeVisible();
  await expect(trackCard.getByText('1. Web APIs with FastAPI')).toBeVisible();
  await page.reload();
  await expect(page.getByRole('region', { name: track }).getByText('2. Python Foundations')).toBeVisible();
  await expectAccessible(page, 'organization tracks');

  // The organization report.
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: 'Report' }).click();
  await expect(page.getByRole('heading', { name: 'Report of Demo Academy' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Python Foundations' })).toBeVisible();
  await expect(page.getByRole('img', { name: /^Active students: / })).toBeVisible();
  await expectAccessible(page, 'organization report');

  // Both changes in the audit log (written from the events a moment later; under `make test` the worker
  // first catches up with the events of the whole run before it, which can take a minute or two).
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('organizations.*');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(page.getByRole('cell', { name: 'organizations.membership.role_changed' }).first()).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 150_000 });
  await expect(page.getByRole('cell', { name: 'organizations.invitation.created' }).first()).toBeVisible();
  await expectAccessible(page, 'organization audit log');

  // An API client for an integration: its secret shown once, then revoked.
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: 'API clients' }).click();
  const clientName = `LMS sync ${Date.now()}`;
  await page.getByLabel('Name').fill(clientName);
  await page.getByRole('button', { name: 'Create API client' }).click();
  await expect(page.getByText('Grant at least one scope.')).toBeVisible();
  await page.getByLabel(/Read courses/).check();
  await page.getByRole('button', { name: 'Create API client' }).click();
  await expect(page.getByText(/is shown only now/)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Copy the secret' })).toBeVisible();
  await expectAccessible(page, 'API clients with a new secret');
  await page.getByRole('button', { name: `Revoke ${clientName}` }).click();
  await expect(page.getByRole('listitem').filter({ hasText: clientName }).getByText(/^Revoked/)).toBeVisible();

  await page.getByRole('link', { name: 'Admin' }).click();
  await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeVisible();
  await page.getByRole('navigation', { name: 'Site administration' }).getByRole('link', { name: 'Organizations' }).click();
  await page.getByLabel('Name or slug').fill('demo');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('link', { name: 'Members of Demo Academy' })).toBeVisible();
  await expectAccessible(page, 'site admin organizations');
  await page.getByRole('navigation', { name: 'Site administration' }).getByRole('link', { name: 'Users' }).click();
  await page.getByLabel('Name or email').fill(member.email);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('row', { name: new RegExp(member.email) })).toBeVisible();
  await expectAccessible(page, 'site admin users');
  await page.getByRole('button', { name: 'Deactivate Fresh Student' }).click();
  await expect(page.getByRole('row', { name: new RegExp(member.email) }).getByText('Deactivated')).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await signIn(page, member.email, member.password);
  await expect(page.getByText('That email and password do not match an active account.')).toBeVisible();
});
