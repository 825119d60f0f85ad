import { expect, test } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// Both walkthroughs change the Globex workspace's models (its demo data still runs on GPT-5.1),
// so they run one after the other; no other spec depends on Globex's models.
test.describe.configure({ mode: 'serial' });

test('an admin filters prompts by model, moves them in bulk after a cost forecast, then undoes it', async ({ page }) => {
  await signInFresh(page, 'admin@globex.test');
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Prompts' }).click();
  await expect(page).toHaveURL(/\/prompts$/);
  await waitForHydration(page);

  await page.getByTestId('filter-model').selectOption('gpt-5.2');
  await page.getByTestId('apply-filter').click();
  await expect(page).toHaveURL(/model=gpt-5\.2/);
  const rows = page.getByTestId('prompts-table').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(page.getByTestId('prompts-table')).toContainText('smart_engagement_tips');

  await page.getByTestId('select-page').check();
  await expect(page.getByTestId('bulk-count')).toHaveText('2 selected');
  await page.getByTestId('bulk-target').selectOption('gpt-5.2-instant');
  await page.getByTestId('bulk-forecast').click();
  await expect(page.getByTestId('forecast-table')).toBeVisible();
  await expect(page.getByTestId('forecast-smart_engagement_tips')).toContainText('gpt-5.2');
  await expect(page.getByTestId('forecast-total')).toHaveText(/[+−]\$\d+\.\d{4}/);
  await expect(page.getByTestId('forecast-monthly')).toContainText('a month on the new model');

  await page.getByTestId('bulk-apply').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Move 2 prompts to gpt-5.2-instant?');
  await page.getByTestId('bulk-confirm-yes').click();
  await expect(page.getByTestId('bulk-summary')).toContainText('2 updated.');
  // The listing reloads: nothing is left on gpt-5.2 under this filter.
  await expect(page.getByText('No prompts match')).toBeVisible();

  await page.getByTestId('bulk-undo').click();
  await expect(page.getByTestId('bulk-summary')).toContainText('Undone: 2 prompts are back on their previous versions');
  await expect(rows).toHaveCount(2);
});

test('an admin dry-runs a legacy migration plan, applies it and rolls it back', async ({ page }) => {
  await signInFresh(page, 'admin@globex.test');
  await page.goto('/prompts');
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Legacy model migrations →' }).click();
  await expect(page).toHaveURL(/\/models\/plans$/);
  await expect(page.getByText('No plans yet')).toBeVisible();

  await page.getByTestId('name').fill('Upgrade Globex to GPT-5.2');
  // Each legacy model starts mapped to its tier's recommended model; leave the older ones.
  await expect(page.getByTestId('plan-map-gpt-5.1')).toHaveValue('gpt-5.2');
  await page.getByTestId('plan-map-gpt-4-turbo').selectOption('');
  await page.getByTestId('plan-map-gpt-3.5-turbo').selectOption('');
  await page.getByTestId('plan-save').click();

  const plan = page.getByTestId('plan').first();
  await expect(plan).toHaveAttribute('data-plan-status', 'draft');
  const changes = plan.getByTestId('plan-change');
  await expect(changes).toHaveCount(3);
  await expect(plan.getByTestId('plan-changes')).toContainText('contextual_research');
  await expect(plan.getByTestId('plan-changes')).toContainText('Workspace setting (default tier)');
  await expect(plan.getByTestId('plan-changes')).toContainText('Gale Globex');

  page.once('dialog', (d) => d.accept());
  await plan.getByTestId('plan-apply').click();
  await expect(plan).toHaveAttribute('data-plan-status', 'applied');
  await expect(plan.getByTestId('plan-guard')).toContainText('watching');
  await expect(changes).toHaveCount(3);

  page.once('dialog', (d) => d.accept());
  await plan.getByTestId('plan-rollback').click();
  await expect(plan).toHaveAttribute('data-plan-status', 'rolled_back');
  await expect(changes).toHaveCount(3);
});

test('a rep reaches neither prompts, models nor migrations', async ({ page }) => {
  await signInFresh(page, 'rep@acme.test');
  const nav = page.getByRole('navigation', { name: 'Main', exact: true });
  await expect(nav.getByRole('link', { name: 'Prompts' })).toHaveCount(0);
  for (const path of ['/prompts', '/models', '/models/plans']) {
    await page.goto(path);
    await expect(page.getByRole('alert').first()).toContainText('Not allowed');
    await expect(page.getByTestId('bulk-bar')).toHaveCount(0);
  }
});

test('a member picks their own model and the AI settings table says why it answers', async ({ page }) => {
  await signInFresh(page, 'admin@globex.test');
  await page.getByTestId('user-menu').click();
  await page.getByTestId('my-models-link').click();
  await expect(page).toHaveURL(/\/settings\/models$/);
  await waitForHydration(page);
  // The fast model set before the upgrade is kept, though it is no longer offered.
  await expect(page.getByTestId('fast_model')).toHaveValue('gpt-5.1-instant');
  await page.getByTestId('default_model').selectOption('gpt-5.2');
  await page.getByTestId('save-my-models').click();
  await expect(page.getByTestId('my-models-saved')).toBeVisible();

  await page.goto('/settings/ai');
  const row = page.getByTestId('routing-smart_engagement_tips');
  await expect(row).toContainText('gpt-5.2');
  await expect(row).toContainText("User's setting");
  await expect(row).toContainText('For Gale Globex, smart_engagement_tips goes to gpt-5.2 because the user chose it for default tasks');
  await expect(page.getByTestId('routing-spend')).toContainText('No monthly budget is set.');
});
