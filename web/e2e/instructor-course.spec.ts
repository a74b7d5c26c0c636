// Through the UI: an instructor builds a course (a module, a Markdown lesson, an exercise), is refused
// publishing while it is empty, reorders with the keyboard, generates and applies a syllabus while watching
// its progress, publishes, and writes a quiz.
import { expect, test } from '@playwright/test';
import { expectAccessible, signIn } from './support';

test('an instructor builds a course and publishes it', async ({ page }) => {
  const title = `Journey course ${Date.now()}`;
  await page.goto('/sign-in');
  await signIn(page, 'instructor@coursegraph.dev');
  await page.getByRole('link', { name: 'Teach' }).click();
  await expect(page.getByRole('heading', { name: 'My courses' })).toBeVisible();
  await expect(page.getByRole('heading', { name: /^Published/ })).toBeVisible();
  await expectAccessible(page, 'my courses');

  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Create draft' }).click();
  await expect(page.getByRole('heading', { name: title, level: 1 })).toBeVisible();
  await expect(page.getByText('This course is Draft')).toBeVisible();

  // The server's typed refusal: an empty course cannot be published.
  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: /module/i })).toBeVisible();

  await page.getByLabel('New module title').fill('Getting started');
  await page.getByRole('button', { name: 'Add module' }).click();
  await expect(page.getByLabel('Module 1 title')).toHaveValue('Getting started');
  await page.getByLabel('New module title').fill('Going further');
  await page.getByRole('button', { name: 'Add module' }).click();
  await expect(page.getByLabel('Module 2 title')).toHaveValue('Going further');

  // Reordering with the keyboard alternative to drag and drop.
  await page.getByRole('button', { name: 'Move module “Going further” up' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByText('Module order saved.')).toBeVisible();
  await expect(page.getByLabel('Module 1 title')).toHaveValue('Going further');

  await page.getByLabel('New lesson in “Getting started”').fill('Hello, world');
  await page.getByRole('button', { name: 'Add lesson' }).last().click();
  const body = page.getByRole('textbox', { name: 'Lesson text (Markdown)' });
  await expect(body).toBeVisible();
  await body.fill('## Your first program\n\nPrint **hello**.\n\n<img src=x alt="" onerror="document.title=\'pwned\'">');
  const preview = page.getByRole('region', { name: 'Lesson text (Markdown): preview' });
  await expect(preview.getByRole('heading', { name: 'Your first program' })).toBeVisible();
  await expect(preview.locator('[onerror]')).toHaveCount(0);
  await expectAccessible(page, 'course editor with a lesson open');
  await page.getByRole('button', { name: 'Save lesson' }).click();
  await expect(page.getByText('Lesson saved.')).toBeVisible();

  await page.getByLabel('New exercise title').fill('Say hello');
  await page.getByRole('button', { name: 'Add exercise' }).click();
  await page.getByRole('textbox', { name: 'Instructions (Markdown)' }).fill('Write `hello.py`.');
  await page.getByLabel('IDE').selectOption('JUPYTER');
  await page.getByRole('button', { name: 'Add a starter file' }).click();
  await page.getByLabel('File 1 path').fill('hello.py');
  await page.getByLabel('File 1 content').fill('print("hello")\n');
  await page.getByRole('button', { name: 'Save exercise' }).click();
  await expect(page.getByText('Exercise saved.')).toBeVisible();

  // AI generation (the fake model writes slowly enough to watch): a syllabus followed live, then applied.
  await page.getByRole('navigation', { name: 'Course' }).getByRole('link', { name: 'AI generation' }).click();
  await expect(page.getByRole('heading', { name: `AI generation for ${title}` })).toBeVisible();
  await expect(page.getByText(/tokens left today/)).toBeVisible();
  await expectAccessible(page, 'AI generation');
  await page.getByLabel('Audience').fill('first-time programmers');
  await page.getByLabel('Weeks').fill('2');
  await page.getByRole('button', { name: 'Generate' }).click();
  const progress = page.getByRole('progressbar', { name: 'Generation progress' });
  // The platform's first generation request loads the model provider's SDK: slow on a loaded machine.
  await expect(progress).toBeVisible({ timeout: 60_000 });
  // The text arrives while the job runs: part of it shows before the job has finished.
  await expect(page.getByLabel('Text written so far')).toContainText('"title"', { timeout: 60_000 });
  await expectAccessible(page, 'AI generation while it runs');
  await expect(page.getByRole('region', { name: 'Drafted syllabus' })).toBeVisible({ timeout: 90_000 });
  await expect(progress).toHaveAttribute('aria-valuenow', '100');
  await expect(page.getByRole('region', { name: 'Drafted syllabus' }).getByRole('cell', { name: 'Week 2' })).toBeVisible();
  await expect(page.getByText(/\d+ in, \d+ out/)).toBeVisible();
  await page.getByRole('button', { name: 'Apply to the course' }).click();
  await expect(page.getByText(/Applied to the course/).first()).toBeVisible();
  await page.getByRole('navigation', { name: 'Course' }).getByRole('link', { name: 'Editor' }).click();
  // The courses worker adds the syllabus's modules after the two written by hand.
  await expect(async () => {
    await page.reload();
    await expect(page.getByLabel('Module 4 title')).toHaveValue('Week 2', { timeout: 2_000 });
  }).toPass({ timeout: 90_000 });
  await expect(page.getByLabel('Module 3 title')).toHaveValue('Week 1');

  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  await expect(page.getByText('This course is Published')).toBeVisible();

  // A quiz: settings, a question, a preview as a student, published.
  await page.getByLabel('New quiz title').fill('Check-in');
  await page.getByRole('button', { name: 'Add quiz' }).click();
  await expect(page.getByRole('heading', { name: 'Check-in', level: 1 })).toBeVisible();
  await page.getByRole('button', { name: 'Publish quiz' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /question/i })).toBeVisible();
  await page.getByLabel('Time limit (minutes)').fill('10');
  await page.getByLabel('Attempts allowed').fill('2');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByText('Quiz settings saved.')).toBeVisible();
  await page.getByLabel('Question type').selectOption('TRUE_FALSE');
  await page.getByLabel('Prompt (Markdown)').fill('`print` writes to the screen.');
  await page.getByRole('button', { name: 'Add question' }).click();
  await expect(page.getByRole('button', { name: 'Edit question 1' })).toBeVisible();
  await page.getByRole('button', { name: 'Preview as a student' }).click();
  await expect(page.getByText('10 minutes · 2 attempts')).toBeVisible();
  await expect(page.getByRole('radio', { name: 'True' })).toBeDisabled();
  await expectAccessible(page, 'quiz editor preview');
  await page.getByRole('button', { name: 'Publish quiz' }).click();
  await expect(page.getByText('Quiz published.')).toBeVisible();
  await page.getByRole('link', { name: title }).click();
  await expectAccessible(page, 'published course in the editor');

  await page.getByRole('link', { name: 'My courses' }).click();
  await expect(page.getByRole('region', { name: /^Published/ }).getByRole('link', { name: title })).toBeVisible();
});
