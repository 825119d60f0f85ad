import { expect, test } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// A manager finds a customer and changes its brand voice; a bad field is named beside it and
// nothing is lost; the admin's audit log names the customer, links it and shows the diff.
test('a manager edits a customer\'s brand voice and the audit log shows the change', async ({ page, browser }) => {
  test.setTimeout(90_000);
  await signInFresh(page, 'manager@acme.test');
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Customers' }).click();
  await expect(page.getByRole('heading', { name: 'Customers' })).toBeVisible();
  const table = page.getByTestId('customers-table');
  await expect(table.locator('tbody tr').first()).toBeVisible();

  // Filter by the first industry on offer, then open the first customer.
  const industry = page.getByTestId('industry-filter');
  const first = await industry.locator('option').nth(1).textContent();
  await industry.selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/industry=/);
  await expect(table.locator('tbody tr').first()).toContainText(first!.trim());
  const link = table.locator('tbody tr').first().getByRole('link');
  const name = (await link.textContent())!.trim();
  await link.click();
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  await waitForHydration(page);

  // A phrase in both lists is refused beside its field; the other edits stay in the form.
  const tone = `Cheerful and direct ${Date.now()}`;
  await page.getByLabel('Tone').fill(tone);
  await page.getByLabel('Phrases to use').fill('fresh start\nsee you soon');
  await page.getByLabel('Phrases to avoid').fill('Fresh start');
  await page.getByTestId('save-context').click();
  await expect(page.getByTestId('error-phrases_to_avoid')).toContainText('also a phrase to use');
  await expect(page.getByLabel('Phrases to avoid')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Tone')).toHaveValue(tone);

  await page.getByLabel('Phrases to avoid').fill('cheap');
  await page.getByTestId('save-context').click();
  await expect(page.getByTestId('saved')).toContainText('Changed: Tone, Phrases to use, Phrases to avoid');
  // A second save right after is at the new version: nothing else changed.
  await page.getByTestId('save-context').click();
  await expect(page.getByTestId('saved')).toHaveText('Nothing changed.');
  await page.reload();
  await expect(page.getByLabel('Tone')).toHaveValue(tone);

  const admin = await browser.newPage();
  await signInFresh(admin, 'admin@acme.test');
  await admin.goto('/audit');
  const row = admin.locator('tr', { hasText: 'changed the business context of' }).first();
  await expect(row).toContainText('Morgan Manager');
  await expect(row.getByRole('link', { name })).toHaveAttribute('href', /\/customers\/[0-9a-f-]{36}$/);
  await row.getByText('3 fields changed').click();
  await expect(row).toContainText(tone);
  await admin.close();
});
