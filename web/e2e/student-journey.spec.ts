// A new student, through the UI only: register, confirm from the mail, accept an invitation from its mail,
// enroll, read a lesson, take the quiz and see the score, start a lab, watch it reach RUNNING and open it.
// The invitation itself is sent by the organization admin through the API (the admin pages are part 2).
import { expect, test } from '@playwright/test';
import { apiToken, expectAccessible, graphql, linkFromMail, signIn, uniqueEmail } from './support';

const COURSE = 'Python Foundations';

test('a new student goes from sign-up to a running lab', async ({ page, context }) => {
  const email = uniqueEmail('student');
  const password = 'a long passphrase for the journey';

  await test.step('register', async () => {
    await page.goto('/register');
    await expectAccessible(page, 'register');
    await page.getByLabel('Full name').fill('Grace Hopper');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    // The server's ValidationError lands at the password field.
    await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('heading', { name: 'Check your inbox' })).toBeVisible();
  });

  await test.step('confirm the address from the mail', async () => {
    await page.goto(await linkFromMail(email, '/verify-email'));
    await expect(page.getByText('Your email address is confirmed')).toBeVisible();
    await expectAccessible(page, 'verify email');
  });

  await test.step('accept the invitation from its mail, signing in on the way', async () => {
    const admin = await apiToken(page, 'admin@coursegraph.dev');
    const { organization } = await graphql(page, '{ organization(slug: "demo-academy") { id } }', {}, admin);
    const invited = await graphql(
      page,
      'mutation($input: InviteMemberInput!) { inviteMember(input: $input) { __typename ... on Error { message } } }',
      { input: { organizationId: organization.id, email, role: 'STUDENT' } },
      admin,
    );
    expect(invited.inviteMember.__typename).toBe('InviteMemberSuccess');
    await page.goto(await linkFromMail(email, '/invitations/accept'));
    await expectAccessible(page, 'invitation (signed out)');
    await page.getByRole('link', { name: 'Sign in to accept' }).click();
    await expect(page.getByLabel('Email')).toHaveValue(email);
    await signIn(page, email, password);
    await page.getByRole('button', { name: 'Accept the invitation' }).click();
    await expect(page.getByRole('heading', { name: 'Welcome to Demo Academy' })).toBeVisible();
    await expectAccessible(page, 'invitation accepted');
  });

  await test.step('find the course in the catalog and enroll', async () => {
    await page.getByRole('link', { name: 'Browse its courses' }).click();
    await page.getByLabel('Search courses').fill('python');
    await page.getByRole('button', { name: 'Search' }).click();
    await expectAccessible(page, 'catalog');
    await page.getByRole('link', { name: COURSE }).first().click();
    await page.getByRole('button', { name: 'Enroll' }).click();
    await expect(page.getByText(`You are enrolled in ${COURSE}.`)).toBeVisible();
    await expectAccessible(page, 'course page');
  });

  await test.step('read a lesson and mark it complete', async () => {
    await page.getByRole('link', { name: 'Start the course' }).click();
    await expect(page.getByRole('progressbar', { name: 'Course progress' })).toHaveAttribute('aria-valuenow', '0');
    await expectAccessible(page, 'lesson');
    await page.getByRole('button', { name: 'Mark as complete' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Completed' })).toBeVisible();
    await expect(page.getByRole('progressbar', { name: 'Course progress' })).not.toHaveAttribute('aria-valuenow', '0');
  });

  await test.step('take the quiz and see the score', async () => {
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await expectAccessible(page, 'dashboard');
    await page.getByRole('region', { name: 'Quizzes waiting' }).getByRole('link').first().click();
    await page.getByRole('button', { name: 'Start the quiz' }).click();
    await answerEveryQuestion(page);
    await expectAccessible(page, 'quiz attempt');
    await page.getByRole('button', { name: 'Submit answers' }).click();
    await expect(page.getByRole('heading', { name: /^Attempt 1: \d+% — (passed|not passed)$/ })).toBeVisible();
    await expectAccessible(page, 'quiz result');
  });

  await test.step('start a lab, watch it reach RUNNING and open it', async () => {
    await page.getByRole('link', { name: COURSE }).click();
    await page.getByRole('button', { name: 'Start a lab' }).first().click();
    await expect(page).toHaveURL(/\/labs\/[0-9a-f-]{36}$/);
    await expect(page.getByRole('link', { name: /Open the IDE/ })).toBeVisible({ timeout: 90_000 });
    await expect(page.locator('.badge', { hasText: 'Running' }).first()).toBeVisible();
    await expectAccessible(page, 'lab');
    const [ide] = await Promise.all([context.waitForEvent('page'), page.getByRole('link', { name: /Open the IDE/ }).click()]);
    const response = await ide.waitForLoadState('domcontentloaded').then(() => ide.evaluate(() => document.readyState));
    expect(response).not.toBe('loading');
    expect(new URL(ide.url()).pathname).toMatch(/^\/labs\/[0-9a-f-]{36}\//);
    await expect(ide.locator('body')).not.toContainText('This lab is');
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect(page.locator('.badge', { hasText: 'Stopped' }).first()).toBeVisible({ timeout: 60_000 });
  });
});

/** One answer for each question, whatever its type. */
async function answerEveryQuestion(page: import('@playwright/test').Page) {
  const questions = page.locator('.question');
  await expect(questions.first()).toBeVisible();
  const count = await questions.count();
  expect(count).toBeGreaterThan(0);
  for (let i = 0; i < count; i += 1) {
    const question = questions.nth(i);
    const text = question.locator('input[type="text"]');
    const number = question.locator('input[type="number"]');
    if (await text.count()) await text.fill('print');
    else if (await number.count()) await number.fill('42');
    else await question.locator('input').first().check();
    await expect(question.getByText('Saved')).toBeVisible();
  }
}
