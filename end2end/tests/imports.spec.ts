import { expect, test } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// A manager imports contacts from a CSV file with one bad row: the preview shows the file and
// the columns matched by name, the import names the bad row and imports nothing; the fixed
// file then goes in whole.
test('a manager imports a CSV with one bad row and sees that row reported', async ({ page }) => {
  test.setTimeout(90_000);
  const last = `Importer${Date.now()}`;
  await signInFresh(page, 'manager@acme.test');
  await page.goto('/contacts/new');
  const company = (await page.getByLabel('Company').locator('option').nth(1).textContent())?.trim() ?? '';
  expect(company).not.toBe('');

  await page.goto('/contacts');
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Import CSV' }).click();
  await expect(page.getByRole('heading', { name: 'Import contacts' })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByText('A file may have up to 10,000 rows and 8 MiB.')).toBeVisible();

  const csv = (email: string) =>
    `Company,First name,Last name,Email\n` +
    `"${company}",Ada,${last},ada.${last}@example.org\n` +
    `"${company}",Bo,${last},${email}\n` +
    `"${company}",Cy,${last},cy.${last}@example.org\n`;
  const file = (email: string) => ({ name: 'contacts.csv', mimeType: 'text/csv', buffer: Buffer.from(csv(email)) });

  await page.getByLabel('CSV file').setInputFiles(file('bo-at-nowhere'));
  await page.getByRole('button', { name: 'Upload and preview' }).click();
  await expect(page).toHaveURL(/\/contacts\/import\?upload=[0-9a-f-]{36}$/);
  await expect(page.getByText('3 rows and 4 columns')).toBeVisible();
  await expect(page.getByRole('cell', { name: 'bo-at-nowhere' })).toBeVisible();
  await expect(page.getByLabel('Last name')).toHaveValue('2');
  await expect(page.getByLabel('Title')).toHaveValue('');
  await waitForHydration(page);

  await page.getByRole('button', { name: 'Import 3 rows' }).click();
  const report = page.getByRole('alert').filter({ hasText: 'nothing was imported' });
  await expect(report).toContainText('1 of 3 rows have problems');
  const bad = report.getByRole('table', { name: 'Rows with problems' }).locator('tbody tr');
  await expect(bad).toHaveCount(1);
  await expect(bad.first()).toContainText('Row 3');
  await expect(bad.first()).toContainText('Email');

  await page.getByRole('link', { name: 'Choose another file' }).click();
  await page.getByLabel('CSV file').setInputFiles(file(`bo.${last}@example.org`));
  await page.getByRole('button', { name: 'Upload and preview' }).click();
  await expect(page.getByText('3 rows and 4 columns')).toBeVisible();
  await page.getByRole('button', { name: 'Import 3 rows' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Imported' })).toContainText('Imported 3 contacts.');
  await page.getByRole('link', { name: 'View the contacts' }).click();
  await page.goto(`/contacts?q=${last}`);
  await expect(page.getByRole('table')).toContainText(`Bo ${last}`);
});
