// Through the UI: a reload in the middle of a quiz resumes the open attempt with its saved answers.
import { expect, test } from '@playwright/test';
import { expectAccessible, freshStudent, signIn } from './support';

test('a reload mid-quiz resumes the attempt with its saved answers', async ({ page }) => {
  const { email, password } = await freshStudent(page, 'Python Foundations');
  await page.goto('/sign-in');
  await signIn(page, email, password);
  await expect(page.getByRole('heading', { name: /^Welcome back/ })).toBeVisible();
  const quizLink = page.getByRole('region', { name: 'Quizzes waiting' }).getByRole('link').first();
  await quizLink.click();
  await page.getByRole('button', { name: 'Start the quiz' }).click();
  const question = page.locator('.question').first();
  const choice = question.locator('input').first();
  await choice.check();
  await expect(question.getByText('Saved')).toBeVisible();
  const attempt = await page.getByText(/^Attempt \d+ · answers are saved as you go/).textContent();

  await page.reload();
  await expect(page.getByText(attempt!.split(' · ')[0] + ' · answers are saved as you go', { exact: false })).toBeVisible();
  await expect(page.locator('.question').first().locator('input').first()).toBeChecked();
  await expectAccessible(page, 'quiz attempt after reload');
});
