import { expect, test } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// A manager creates a template (an unknown placeholder is refused, naming those available),
// saves a second version and makes it live, compares the two, then previews the prompt the
// worker would send for a customer, then generates a sample and sees its scores.
test('a manager creates a template, versions it and previews it against a customer', async ({ page }) => {
  test.setTimeout(90_000);
  const name = `Recall email ${Date.now()}`;
  await signInFresh(page, 'manager@acme.test');
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Templates' }).click();
  await expect(page.getByTestId('templates-table')).toContainText('Promotion email');
  await waitForHydration(page);
  await page.getByTestId('new-template').click();
  await expect(page.getByRole('heading', { name: 'New template' })).toBeVisible();
  await waitForHydration(page);

  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Purpose').selectOption('reminder');
  await page.getByLabel('Body').fill('Hi {{first_name}}, {{promo_code}} is waiting. {{call_to_action}}');
  await page.getByTestId('save-version').click();
  await expect(page.getByTestId('error-body')).toContainText('Unknown placeholder {{promo_code}}. Available: business_name');
  await expect(page.getByLabel('Name')).toHaveValue(name);

  await page.getByLabel('Body').fill('Hi {{first_name}}, your check-up is due. {{call_to_action}}');
  await page.getByTestId('save-version').click();
  await expect(page.getByTestId('template-name')).toHaveText(name);
  await expect(page.getByTestId('template-status')).toHaveText('Draft');
  await waitForHydration(page);

  // Version 2, made live; the diff shows the change.
  await page.getByLabel('Body').fill('Hi {{first_name}}, your six-monthly check-up is due. {{call_to_action}}');
  await page.getByLabel('What changed in this version').fill('Say when');
  await page.getByTestId('save-activate').click();
  await expect(page.getByText('Version 2 of 2 · v2 is live')).toBeVisible();
  await expect(page.getByTestId('template-status')).toHaveText('Active');
  await page.getByTestId('compare').click();
  await expect(page.getByTestId('diff')).toContainText('+ Hi {{first_name}}, your six-monthly check-up is due.');
  await expect(page.getByTestId('diff')).toContainText('- Hi {{first_name}}, your check-up is due.');

  // The preview: the worker's prompt for a real customer, with the template in it.
  await page.getByTestId('preview-customer').selectOption({ index: 1 });
  const customer = (await page.getByTestId('preview-customer').locator('option:checked').textContent())!.trim();
  await page.getByTestId('run-preview').click();
  await expect(page.getByTestId('preview-user')).toContainText('six-monthly check-up');
  await expect(page.getByTestId('preview-user')).toContainText(customer);
  await expect(page.getByTestId('preview-system')).not.toBeEmpty();

  // A sample: the draft streams in, then its scores and the rules' decision; nothing is delivered.
  await page.getByTestId('run-sample').click();
  await expect(page.getByTestId('sample-text')).toContainText('Test provider answer');
  await expect(page.getByTestId('sample-scores')).toContainText('Nothing was stored or delivered.');
});
