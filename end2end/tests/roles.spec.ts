import { expect, test } from '@playwright/test';
import { signInFresh } from './helpers';

test('a rep is refused the admin-only team page with a clear message', async ({ page }) => {
  await signInFresh(page, 'rep@acme.test');
  const res = await page.goto('/team');
  expect(res?.status()).toBe(403);
  await expect(page.getByRole('alert')).toContainText('Not allowed');
  await expect(page.getByRole('alert')).toContainText('Admin');
  await expect(page.getByText('manager@acme.test')).toHaveCount(0);
});

test('the workspace-B admin never sees workspace-A data', async ({ page }) => {
  await signInFresh(page, 'admin@globex.test');
  await expect(page.getByTestId('workspace-name')).toHaveText('Globex Partners');
  await expect(page.getByRole('definition').first()).toHaveText('1');
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Team' }).click();
  await expect(page.getByRole('cell', { name: 'admin@globex.test' })).toBeVisible();
  for (const email of ['admin@acme.test', 'manager@acme.test', 'rep@acme.test', 'qa@acme.test']) {
    await expect(page.getByText(email)).toHaveCount(0);
  }
  await page.goto('/audit');
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  for (const name of ['Avery Admin', 'Morgan Manager', 'Riley Rep', 'Quinn Tester']) {
    await expect(page.getByText(name)).toHaveCount(0);
  }
});
