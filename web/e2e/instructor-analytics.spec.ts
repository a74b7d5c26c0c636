// A student (driven through the API) fails the quiz twice while the instructor has the course's analytics
// open: the risk alert arrives live, the student's engagement and risk are explained, and the attempts
// review shows both attempts with their answers.
import { expect, test } from '@playwright/test';
import { apiToken, expectAccessible, freshStudent, graphql, signIn } from './support';

const COURSE = 'Python Foundations';

test('an instructor sees a student’s attempts, engagement and a risk alert arrive live', async ({ page, browser }) => {
  const name = `Risky Learner ${Date.now() % 100_000}`;
  const { email, password } = await freshStudent(page, COURSE, name);
  const token = await apiToken(page, email, password);

  const teacherContext = await browser.newContext();
  const teacher = await teacherContext.newPage();
  await teacher.goto('/sign-in');
  await signIn(teacher, 'instructor@coursegraph.dev');
  await teacher.getByRole('link', { name: 'Teach' }).click();
  await teacher.getByRole('link', { name: COURSE }).first().click();
  await teacher.getByRole('navigation', { name: 'Course' }).getByRole('link', { name: 'Analytics' }).click();
  await expect(teacher.getByRole('heading', { name: `Analytics of ${COURSE}` })).toBeVisible();
  await expect(teacher.getByRole('img', { name: /^Active students: / })).toBeVisible();
  await expect(teacher.getByText('Students whose risk rises to high while this page is open appear here.')).toBeVisible();
  await expectAccessible(teacher, 'course analytics');

  // The student fails the quiz twice (submitted with no answer): two failed attempts and no proficiency.
  const { courses } = await graphql(page, 'query($q: String) { courses(filter: { search: $q }) { nodes { title quizzes(first: 5) { nodes { id } } } } }', { q: COURSE }, token);
  const quizId = courses.nodes.find((c: { title: string }) => c.title === COURSE).quizzes.nodes[0].id;
  for (let i = 0; i < 2; i++) {
    const started = await graphql(page, 'mutation($input: StartQuizAttemptInput!) { startQuizAttempt(input: $input) { __typename ... on QuizAttemptSuccess { attempt { id } } } }', { input: { quizId } }, token);
    expect(started.startQuizAttempt.__typename).toBe('QuizAttemptSuccess');
    const submitted = await graphql(page, 'mutation($input: SubmitQuizAttemptInput!) { submitQuizAttempt(input: $input) { __typename } }', { input: { attemptId: started.startQuizAttempt.attempt.id } }, token);
    expect(submitted.submitQuizAttempt.__typename).toBe('QuizAttemptSuccess');
  }

  // The alert arrives on the open page, without a reload.
  const alerts = teacher.getByRole('list', { name: 'Live risk alerts' });
  await expect(alerts.getByText(name)).toBeVisible({ timeout: 120_000 });
  await expect(alerts.getByText('high risk')).toBeVisible();
  await expectAccessible(teacher, 'course analytics with a live alert');

  // The student's engagement, risk and why (the report is read again when an alert arrives).
  const row = teacher.getByRole('row').filter({ hasText: name });
  await expect(row.getByText('high risk')).toBeVisible();
  await row.getByRole('button', { name: `Why: ${name}` }).click();
  await expect(teacher.getByText(/Failed quiz attempts: 2 .* — counts/)).toBeVisible();
  await expect(teacher.getByRole('heading', { name: 'Recommendations' })).toBeVisible();

  // The attempts review: this student's two attempts, not passed, and one attempt's answers.
  await teacher.getByRole('navigation', { name: 'Course' }).getByRole('link', { name: 'Quiz attempts' }).click();
  await teacher.getByLabel('Student', { exact: true }).selectOption({ label: name });
  await teacher.getByLabel('Outcome', { exact: true }).selectOption('no');
  await expect(teacher.getByRole('button', { name: `Answers of ${name}, attempt 2` })).toBeVisible();
  await expect(teacher.getByRole('row').filter({ hasText: 'Not passed' })).toHaveCount(2);
  await teacher.getByRole('button', { name: `Answers of ${name}, attempt 1` }).click();
  await expect(teacher.getByRole('heading', { name: `${name}, attempt 1` })).toBeVisible();
  await expect(teacher.getByText(/^Right answer:/).first()).toBeVisible();
  await expectAccessible(teacher, 'quiz attempts review');

  // Labs of the course's students: the page is open when the student starts one, and follows it live.
  await teacher.getByRole('navigation', { name: 'Course' }).getByRole('link', { name: 'Labs' }).click();
  await expect(teacher.getByRole('heading', { name: `Labs in ${COURSE}` })).toBeVisible();
  const { exercises } = (await graphql(page, 'query($q: String) { courses(filter: { search: $q }) { nodes { title exercises(first: 5) { nodes { id } } } } }', { q: COURSE }, token)).courses.nodes.find(
    (c: { title: string }) => c.title === COURSE,
  );
  const lab = await graphql(page, 'mutation($input: StartLabInput!) { startLab(input: $input) { __typename ... on LabSessionSuccess { session { id } } ... on Error { message } } }', { input: { exerciseId: exercises.nodes[0].id } }, token);
  expect(lab.startLab.__typename, lab.startLab.message).toBe('LabSessionSuccess');
  const labRow = teacher.getByRole('row').filter({ hasText: name });
  // The new session shows at the next read of the list (every 15 s), then its status follows its events.
  await expect(labRow.getByText('Running')).toBeVisible({ timeout: 120_000 });
  await expect(labRow.getByText(/Pauses in/)).toBeVisible();
  await expectAccessible(teacher, 'labs of the course');
  await graphql(page, 'mutation($input: LabSessionIdInput!) { stopLab(input: $input) { __typename } }', { input: { sessionId: lab.startLab.session.id } }, token);
  await expect(labRow).toHaveCount(0, { timeout: 60_000 });
  await teacherContext.close();
});
