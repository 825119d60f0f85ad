import { expect, test } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// A rep adds a contact (a missing field is named beside it), logs a call and adds a deal on
// the contact's page (each shows up at once), then archives the contact after confirming and
// restores it.
test('a rep creates a contact, logs a call, adds a deal, archives and restores', async ({ page }) => {
  test.setTimeout(90_000);
  const last = `Quill${Date.now()}`;
  await signInFresh(page, 'rep@acme.test');
  await page.goto('/contacts');
  await waitForHydration(page);
  await page.getByTestId('new-contact').click();
  await expect(page.getByRole('heading', { name: 'New contact' })).toBeVisible();
  await waitForHydration(page);

  await page.getByLabel('First name').fill('Ada');
  await page.getByLabel('Company').selectOption({ index: 1 });
  await page.getByLabel('Email').fill(`ada.${last.toLowerCase()}@example.org`);
  await page.getByTestId('save-contact').click();
  await expect(page.getByTestId('error-last_name')).toHaveText('Enter the last name.');
  await expect(page.getByLabel('Last name')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('First name')).toHaveValue('Ada');

  await page.getByLabel('Last name').fill(last);
  await page.getByTestId('save-contact').click();
  await expect(page.getByTestId('contact-name')).toHaveText(`Ada ${last}`);
  await expect(page).toHaveURL(/\/contacts\/[0-9a-f-]{36}$/);
  await waitForHydration(page);

  // A call: it tops the timeline as soon as it is logged.
  const log = page.getByRole('form', { name: 'Log activity' });
  await log.getByLabel('Direction').selectOption('outbound');
  await log.getByLabel('Outcome').selectOption('connected');
  await log.getByLabel('Summary').fill('Introduced our spring offer');
  await log.getByTestId('log-activity').click();
  await expect(page.getByTestId('timeline').locator('li').first()).toContainText('Introduced our spring offer');
  await expect(page.getByTestId('timeline').locator('li').first()).toContainText('outbound');
  await expect(log.getByLabel('Summary')).toHaveValue('');

  // A deal, with a bad amount first.
  await page.getByTestId('add-deal').locator('summary').click();
  const deal = page.getByRole('form', { name: 'New deal' });
  await deal.getByLabel('Name').fill('Spring retainer');
  await deal.getByLabel('Amount').fill('12.345');
  await deal.getByTestId('save-deal').click();
  await expect(deal.getByTestId('error-deal-amount')).toContainText('at most two decimals');
  await deal.getByLabel('Amount').fill('12,500');
  await deal.getByTestId('save-deal').click();
  await expect(page.getByTestId('deal').first()).toContainText('Spring retainer');
  await expect(page.getByTestId('deal').first()).toContainText('12,500.00 USD');

  // Archive asks first; dismissing it changes nothing.
  page.once('dialog', (d) => d.dismiss());
  await page.getByTestId('archive-contact').click();
  await expect(page.getByTestId('archived-banner')).toHaveCount(0);
  page.once('dialog', (d) => d.accept());
  await page.getByTestId('archive-contact').click();
  await expect(page.getByTestId('archived-banner')).toContainText('Archived');
  await expect(page.getByRole('form', { name: 'Log activity' })).toHaveCount(0);
  await page.goto(`/contacts?q=${last}`);
  await expect(page.getByText('No contacts match')).toBeVisible();
  await page.goto(`/contacts?q=${last}&archived=1`);
  await page.getByRole('link', { name: `Ada ${last}` }).click();
  await waitForHydration(page);
  await page.getByTestId('restore-contact').click();
  await expect(page.getByTestId('archived-banner')).toHaveCount(0);
  await expect(page.getByRole('form', { name: 'Log activity' })).toBeVisible();
});
