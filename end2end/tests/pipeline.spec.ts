import { expect, test } from '@playwright/test';
import { signIn, signInFresh, waitForHydration } from './helpers';

// The content pipeline as a manager walks it, against the mock provider (its short answer
// never meets a task's minimum length, so with one attempt allowed the draft is escalated).
test('a manager creates a task, watches it run, edits the escalated draft, approves it and sees it delivered', async ({ page }) => {
  test.setTimeout(120_000);
  const title = `E2E spring email ${Date.now()}`;
  await signInFresh(page, 'manager@acme.test');
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Pipeline' }).click();
  await expect(page.getByRole('heading', { name: 'Pipeline' })).toBeVisible();
  await page.getByTestId('new-task').click();
  await expect(page.getByRole('heading', { name: 'New task' })).toBeVisible();
  await waitForHydration(page);

  // An incomplete form names what is missing and sends nothing.
  await page.getByTestId('create-task').click();
  await expect(page.getByTestId('form-errors')).toBeVisible();
  await expect(page.getByTestId('error-customer')).toHaveText('Choose a customer.');
  await expect(page.getByTestId('error-brief')).toContainText('at least 10 characters');

  const customer = page.locator('#customer');
  await customer.selectOption({ index: 1 });
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Brief').fill('Invite past clients to book a spring service this month.');
  await page.getByLabel('Attempts allowed').fill('1');
  await page.getByTestId('create-task').click();

  // The task page follows it through the pipeline on its own.
  await expect(page).toHaveURL(/\/pipeline\/tasks\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('task-title')).toHaveText(title);
  await expect(page.getByTestId('task-state')).toHaveAttribute('data-state', 'escalated', { timeout: 60_000 });
  const history = page.getByTestId('history');
  for (const step of ['Pending → Context loading', 'Context loading → Generating', 'Generating → Evaluating', 'Evaluating → Escalated']) {
    await expect(history).toContainText(step);
  }
  await expect(page.getByTestId('compliance-failures')).toContainText('Too short');
  await expect(page.getByTestId('decision-summary')).toContainText("Rule 'Out of attempts' matched");

  // The board lists it with its state.
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Pipeline' }).click();
  const row = page.getByTestId('task-row').filter({ hasText: title });
  await expect(row.getByTestId('task-state')).toHaveAttribute('data-state', 'escalated');

  // The escalation queue: edit the draft and approve it.
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Escalations' }).click();
  await expect(page.getByRole('heading', { name: 'Escalation queue' })).toBeVisible();
  await waitForHydration(page);
  const item = page.getByTestId('queue-item').filter({ hasText: title });
  await expect(item).toContainText('The last attempt still falls short');
  await item.getByTestId('edit').click();
  const edited = 'Hi there,\n\nSpring is the best time to book your service. Reply to this email or call us to pick a time this month.\n\nThanks!';
  await item.getByTestId('edit-draft').fill(edited);
  await item.getByTestId('approve-edited').click();
  await expect(page.getByTestId('queue-notice')).toHaveText(`"${title}" approved and delivered.`);
  await expect(page.getByTestId('queue-item').filter({ hasText: title })).toHaveCount(0);

  // Delivered, with the reviewer's edit and the verdict on record.
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Pipeline' }).click();
  await page.getByTestId('task-row').filter({ hasText: title }).getByRole('link', { name: title }).click();
  await expect(page.getByTestId('task-state')).toHaveAttribute('data-state', 'delivered');
  await expect(page.getByTestId('attempt-content').first()).toContainText('Spring is the best time to book your service.');
  await expect(page.getByText('Edited by a reviewer')).toBeVisible();
  await expect(history).toContainText('Escalated → Approved');
  await expect(history).toContainText('Approved → Delivered');
});

// Live updates: the board shows a task created in another tab, and its moves, without a
// reload. With the stream cut (the server ends each stream after 15 s in this suite, and the
// reopening is refused), the header says it is reconnecting; once the stream is back the
// board catches up on the task created meanwhile.
test('the board updates without a reload when a task moves, and catches up after a lost connection', async ({ page, context }) => {
  test.setTimeout(150_000);
  await signInFresh(page, 'manager@acme.test');
  await page.goto('/pipeline');
  await waitForHydration(page);
  const status = page.getByTestId('live-status');
  await expect(status).toHaveAttribute('data-state', 'live');
  await page.evaluate(() => { (window as unknown as { sameDocument: boolean }).sameDocument = true; });

  const other = await context.newPage();
  const createTask = async (title: string) => {
    await other.goto('/pipeline/new');
    await waitForHydration(other);
    await other.locator('#customer').selectOption({ index: 1 });
    await other.getByLabel('Title').fill(title);
    await other.getByLabel('Brief').fill('Invite past clients to book a spring service this month.');
    await other.getByLabel('Attempts allowed').fill('1');
    await other.getByTestId('create-task').click();
    await expect(other).toHaveURL(/\/pipeline\/tasks\/[0-9a-f-]{36}$/);
  };
  const first = `Live board ${Date.now()}`;
  await createTask(first);
  const row = page.getByTestId('task-row').filter({ hasText: first });
  await expect(row).toBeVisible();
  await expect(row.getByTestId('task-state')).toHaveAttribute('data-state', 'escalated', { timeout: 60_000 });

  await page.route('**/events', (route) => route.abort());
  await expect(status).toHaveAttribute('data-state', 'reconnecting', { timeout: 30_000 });
  await expect(status).toContainText('Reconnecting…');
  const missed = `Missed while away ${Date.now()}`;
  await createTask(missed);
  await page.unroute('**/events');
  await expect(status).toHaveAttribute('data-state', 'live', { timeout: 45_000 });
  await expect(status).not.toContainText('Reconnecting');
  await expect(page.getByTestId('task-row').filter({ hasText: missed })).toBeVisible();
  // All of it in the same document: no reload.
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
});

test('a rep does not see the pipeline and is refused it', async ({ page }) => {
  await signInFresh(page, 'rep@acme.test');
  await expect(page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Pipeline' })).toHaveCount(0);
  await page.goto('/pipeline');
  await expect(page.getByRole('alert')).toContainText('Not allowed');
});

test.describe('with JavaScript disabled', () => {
  test.use({ javaScriptEnabled: false });

  // The new-task form is an ActionForm: a plain HTML post reaches the same server function, a
  // mistake comes back to the form, and success lands on the task's page.
  test('a manager creates a task with the plain HTML form', async ({ page }) => {
    const title = `No-script task ${Date.now()}`;
    await page.goto('/sign-in');
    await signIn(page, 'manager@acme.test');
    await expect(page).toHaveURL(/\/dashboard$/);

    await page.goto('/pipeline/new');
    await page.getByTestId('create-task').click();
    await expect(page).toHaveURL(/\/pipeline\/new/);
    await expect(page.getByTestId('error-customer')).toHaveText('Choose a customer.');
    await expect(page.getByTestId('error-title')).toContainText('Give the task a title');

    await page.locator('#customer').selectOption({ index: 1 });
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Brief').fill('Invite past clients to book a spring service this month.');
    await page.getByTestId('create-task').click();
    await expect(page).toHaveURL(/\/pipeline\/tasks\/[0-9a-f-]{36}$/);
    await expect(page.getByTestId('task-title')).toHaveText(title);
  });
});

test('QA sees the pipeline and the queue without the buttons it may not use', async ({ page }) => {
  await signInFresh(page, 'qa@acme.test');
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Pipeline' }).click();
  await expect(page.getByRole('heading', { name: 'Pipeline' })).toBeVisible();
  await expect(page.getByTestId('task-row').first()).toBeVisible();
  await expect(page.getByTestId('new-task')).toHaveCount(0);
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Escalations' }).click();
  await expect(page.getByRole('heading', { name: 'Escalation queue' })).toBeVisible();
  // The demo tasks reach the queue within seconds (the mock's drafts are always too short).
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('queue-item').first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  await expect(page.getByTestId('queue-draft').first()).toBeVisible();
  await expect(page.getByTestId('approve')).toHaveCount(0);
  await expect(page.getByTestId('reject')).toHaveCount(0);
  await expect(page.getByTestId('send-back')).toHaveCount(0);
});
