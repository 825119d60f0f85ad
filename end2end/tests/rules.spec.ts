import { expect, Page, test } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// The "Out of attempts" rule as the workspace ships it, and with its threshold lowered so a
// draft escalates from the first attempt.
const ORIGINAL = '{"and": [{">=": [{"var": "attempt"}, {"var": "task.max_attempts"}]}, {"or": [{"!": {"var": "quality.compliance.passed"}}, {"<": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}]}]}';
const LOWERED = '{"and": [{">=": [{"var": "attempt"}, 1]}, {"or": [{"!": {"var": "quality.compliance.passed"}}, {"<": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}]}]}';

/** Creates a task for the first customer through the form and waits until it is escalated. */
async function escalatedTask(page: Page, title: string, attempts: number) {
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Pipeline' }).click();
  await page.getByTestId('new-task').click();
  await waitForHydration(page);
  await page.locator('#customer').selectOption({ index: 1 });
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Brief').fill('Invite past clients to book a spring service this month.');
  await page.getByLabel('Attempts allowed').fill(String(attempts));
  await page.getByTestId('create-task').click();
  await expect(page).toHaveURL(/\/pipeline\/tasks\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('task-state')).toHaveAttribute('data-state', 'escalated', { timeout: 90_000 });
}

// A manager changes a rule's threshold, sees what it would change, is stopped by a test case
// it breaks, fixes it, makes it live, and sees the next task decided by that version. The rule
// ends the walk as it began (in content), so the suite's other walkthroughs are unaffected,
// and the walk can run again on the same database.
test('a manager changes a rule, sees what it would change, is blocked by a failing test case, fixes it and the next task shows the new version', async ({ page }) => {
  test.setTimeout(180_000);
  const stamp = Date.now();
  await signInFresh(page, 'manager@acme.test');
  // A task whose first of two drafts was retried: history the simulation replays.
  await escalatedTask(page, `E2E rules history ${stamp}`, 2);
  const nav = page.getByRole('navigation', { name: 'Main', exact: true });
  await nav.getByRole('link', { name: 'Rules' }).click();
  await expect(page.getByRole('heading', { name: 'Decision rules' })).toBeVisible();
  await expect(page.getByTestId('rules-escalation').getByTestId('rule-row').first()).toBeVisible();

  // 1. Open the rule.
  await page.getByRole('link', { name: 'Out of attempts', exact: true }).click();
  await expect(page.getByTestId('rule-name')).toHaveText('Out of attempts');
  await waitForHydration(page);

  // 2. Change its threshold; the condition is read back in words as it is typed, and broken
  // JSON is marked where it breaks.
  const condition = page.getByLabel('Condition (JSON Logic)');
  await condition.fill('{"and": [');
  await expect(page.getByTestId('condition-words')).toContainText('The JSON breaks at line 1');
  await condition.fill(LOWERED);
  await expect(page.getByTestId('condition-words')).toContainText('attempt 1 >= 1');
  await page.getByLabel('What changed in this version').fill(`Escalate from the first attempt (${stamp})`);
  await page.getByTestId('save-rule').click();
  const saved = page.getByTestId('save-result');
  await expect(saved).toContainText(/Saved as v\d+, a draft/);
  const draft = Number((await saved.textContent())?.match(/Saved as v(\d+)/)?.[1]);

  // 3. The simulation says how many decisions would change (drafts still on their first of
  // several attempts would now escalate instead of retrying).
  const headline = page.getByTestId('simulation-headline');
  await expect(async () => {
    await page.getByTestId('simulate').click();
    await expect(headline).toContainText(/[1-9]\d* of \d+ decisions would change with Out of attempts v\d+/, { timeout: 5_000 });
  }).toPass({ timeout: 60_000 });
  await expect(page.getByTestId('simulation-matrix')).toBeVisible();
  await expect(page.getByTestId('simulation-changed')).toContainText('retry → escalate');

  // 4. A test case the draft breaks: a weak first draft of three should be retried.
  await page.goto('/rules/bench');
  await waitForHydration(page);
  const context = JSON.parse(await page.getByTestId('bench-context').inputValue());
  context.quality.overall = 60;
  await page.getByTestId('bench-context').fill(JSON.stringify(context, null, 2));
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-outcome')).toHaveText('Decision: retry');
  await expect(page.getByTestId('bench-words')).toContainText("Rule 'Low quality' v1 matched: quality.overall 60 < task.min_overall 75");
  // Short enough that error messages quote it whole.
  const caseName = `Weak draft retried ${stamp % 1_000_000}`;
  await page.getByTestId('case-name').fill(caseName);
  await expect(page.getByTestId('case-expected')).toHaveValue('retry');
  await page.getByTestId('case-save').click();
  await expect(page.getByTestId('test-case').filter({ hasText: caseName })).toContainText('✓');

  await page.goto('/rules');
  await page.getByRole('link', { name: 'Out of attempts', exact: true }).click();
  await expect(page.getByTestId('versions')).toBeVisible();
  await waitForHydration(page);
  await page.getByTestId(`activate-v${draft}`).click();
  const blocked = page.getByTestId('activation-error');
  await expect(blocked).toContainText(/Activation blocked: \d+ of \d+ test cases fail/);
  await expect(blocked).toContainText(`"${caseName}" expects retry but gets escalate`);
  await expect(page.getByTestId('rule-status')).not.toContainText(`v${draft} is live`);

  // 5. Fix it and make it live.
  await page.getByLabel('Condition (JSON Logic)').fill(ORIGINAL);
  await page.getByLabel('What changed in this version').fill(`Back to the task's attempts (${stamp})`);
  await page.getByTestId('save-rule').click();
  await expect(saved).toContainText(/All \d+ test cases pass with it/);
  const fixed = draft + 1;
  await expect(saved).toContainText(`Saved as v${fixed}`);
  await saved.getByRole('link', { name: `Open v${fixed} and its history` }).click();
  await expect(page.getByTestId('rule-status')).toContainText(`Version ${fixed} of ${fixed}`);
  await waitForHydration(page);
  await page.getByTestId(`activate-v${fixed}`).click();
  await expect(page.getByTestId('rule-status')).toContainText(`v${fixed} is live`);

  // 6. The next task is decided by that version, and its trace says so.
  await escalatedTask(page, `E2E rules walk ${stamp}`, 1);
  await expect(page.getByTestId('decision-trace')).toContainText(`Rule 'Out of attempts' v${fixed} matched`);
});
