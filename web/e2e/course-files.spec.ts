// Course files through the UI: an instructor attaches a PDF to a lesson (a refused type is shown as the
// server's typed error first), uploads a second version and restores the first; a student of the
// organization sees the file on the lesson page and downloads the very bytes; the instructor exports the
// course as SCORM 2004, follows the job live and downloads the package.
import { expect, test, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { apiToken, expectAccessible, graphql, signIn } from './support';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const PDF_V2 = Buffer.from('%PDF-1.4\n% second version\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

/** A published course of Demo Academy with one lesson, made by the instructor through the API (set-up). */
async function publishedCourse(page: Page, token: string): Promise<{ courseId: string; lessonId: string; title: string }> {
  const stamp = Date.now();
  const title = `Files course ${stamp}`;
  const { organization } = await graphql(page, '{ organization(slug: "demo-academy") { id } }', {}, token);
  const created = await graphql(
    page,
    'mutation($input: CreateCourseInput!) { createCourse(input: $input) { __typename ... on CourseSuccess { course { id } } ... on Error { message } } }',
    { input: { organizationId: organization.id, title, slug: `files-${stamp}` } },
    token,
  );
  expect(created.createCourse.__typename, created.createCourse.message).toBe('CourseSuccess');
  const courseId = created.createCourse.course.id;
  const module = await graphql(page, 'mutation($input: CreateModuleInput!) { createModule(input: $input) { ... on ModuleSuccess { module { id } } } }', { input: { courseId, title: 'Week 1' } }, token);
  const lesson = await graphql(
    page,
    'mutation($input: CreateLessonInput!) { createLesson(input: $input) { ... on LessonSuccess { lesson { id } } } }',
    { input: { moduleId: module.createModule.module.id, title: 'Reading list', body: 'Read the attached notes.' } },
    token,
  );
  const published = await graphql(page, 'mutation($input: CourseIdInput!) { publishCourse(input: $input) { __typename } }', { input: { id: courseId } }, token);
  expect(published.publishCourse.__typename).toBe('CourseSuccess');
  return { courseId, lessonId: lesson.createLesson.lesson.id, title };
}

test('an instructor attaches a PDF, a student downloads it, the course is exported as SCORM 2004', async ({ page, browser }) => {
  const instructor = await apiToken(page, 'instructor@coursegraph.dev');
  const { courseId, lessonId, title } = await publishedCourse(page, instructor);

  await test.step('the instructor attaches a PDF to the lesson', async () => {
    await page.goto('/sign-in');
    await signIn(page, 'instructor@coursegraph.dev');
    await expect(page.getByRole('link', { name: 'Teach' })).toBeVisible();
    await page.goto(`/teach/courses/${courseId}`);
    await expect(page.getByRole('heading', { name: title, level: 1 })).toBeVisible();
    await page.getByRole('button', { name: 'Edit lesson “Reading list”' }).click();
    const files = page.getByRole('region', { name: 'Files of “Reading list”' });
    await expect(files.getByText('No file attached.')).toBeVisible();

    // Bytes a browser could run as a page are refused whatever the name says: the typed error is shown.
    await files.getByLabel('Attach a file').setInputFiles({ name: 'notes.pdf', mimeType: 'application/pdf', buffer: Buffer.from('<html><script>alert(1)</script></html>') });
    await expect(files.getByRole('alert')).toBeVisible();
    await expect(files.getByText('No file attached.')).toBeVisible();

    await files.getByLabel('Attach a file').setInputFiles({ name: 'notes.pdf', mimeType: 'application/pdf', buffer: PDF });
    await expect(page.getByText('notes.pdf uploaded.')).toBeVisible();
    await expect(files.getByText('application/pdf · 77 B · version 1')).toBeVisible();
    await expectAccessible(page, 'course editor with a lesson file');

    // A second version, then the first one restored.
    await files.getByLabel('New version of notes.pdf').setInputFiles({ name: 'notes.pdf', mimeType: 'application/pdf', buffer: PDF_V2 });
    await expect(files.getByText(/version 2$/)).toBeVisible();
    await files.getByRole('button', { name: 'Versions of notes.pdf' }).click();
    await expect(files.getByRole('table')).toBeVisible();
    await expectAccessible(page, 'versions of a lesson file');
    await files.getByRole('button', { name: 'Restore version 1' }).click();
    await expect(page.getByText('Version 1 of notes.pdf is current again.')).toBeVisible();
    await expect(files.getByText('application/pdf · 77 B · version 1')).toBeVisible();
  });

  await test.step('a student of the organization downloads it from the lesson page', async () => {
    const student = await browser.newContext({ baseURL: new URL(page.url()).origin });
    const reader = await student.newPage();
    const token = await apiToken(reader, 'student@coursegraph.dev');
    await expect
      .poll(async () => (await graphql(reader, 'mutation($input: EnrollInput!) { enroll(input: $input) { __typename } }', { input: { courseId } }, token)).enroll.__typename)
      .toMatch(/EnrollmentSuccess|ConflictError/);
    await reader.goto('/sign-in');
    await signIn(reader, 'student@coursegraph.dev');
    await expect(reader.getByRole('link', { name: 'Catalog' }).first()).toBeVisible();
    // The content subgraph learns that the course is published from the courses subgraph's events.
    await expect(async () => {
      await reader.goto(`/courses/${courseId}/lessons/${lessonId}`);
      await expect(reader.getByRole('button', { name: 'Download notes.pdf' })).toBeVisible({ timeout: 3_000 });
    }).toPass({ timeout: 60_000 });
    await expectAccessible(reader, 'lesson with a file');
    const downloading = reader.waitForEvent('download');
    await reader.getByRole('button', { name: 'Download notes.pdf' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('notes.pdf');
    // The restored version 1: exactly the bytes uploaded.
    expect(Buffer.compare(await readFile((await download.path())!), PDF)).toBe(0);
    await student.close();
  });

  await test.step('the instructor exports the course as SCORM 2004 and downloads it', async () => {
    await page.getByRole('navigation', { name: 'Course' }).getByRole('link', { name: 'Exports' }).click();
    await expect(page.getByRole('heading', { name: `Exports of ${title}` })).toBeVisible();
    await expect(page.getByText('No export yet.')).toBeVisible();
    await expectAccessible(page, 'exports');
    await page.getByRole('radio', { name: /SCORM 2004/ }).check();
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const job = page.getByRole('region', { name: /SCORM 2004 export/ });
    await expect(job.getByRole('progressbar', { name: 'Export progress' })).toBeVisible();
    const link = job.getByRole('button', { name: /^Download .*\.zip/ });
    await expect(link).toBeVisible({ timeout: 120_000 });
    await expect(job.getByRole('progressbar', { name: 'Export progress' })).toHaveAttribute('aria-valuenow', '100');
    await expectAccessible(page, 'a finished export');
    const downloading = page.waitForEvent('download');
    await link.click();
    const download = await downloading;
    const zip = await readFile((await download.path())!);
    expect(zip.subarray(0, 2).toString()).toBe('PK');
    // The earlier exports list it too.
    await expect(page.getByRole('region', { name: 'Earlier exports' }).getByText('Succeeded')).toBeVisible();
  });
});
