import { expect, Page, test } from '@playwright/test';
import { signInFresh } from './helpers';

/** Follows a link of the main navigation, opening the narrow-screen menu first when it is there. */
async function navigate(page: Page, label: string) {
  const menu = page.getByTestId('narrow-menu');
  if (await menu.isVisible()) {
    await menu.locator('summary').click();
  }
  await page.getByRole('navigation', { name: /Main/ }).filter({ visible: true }).getByRole('link', { name: label }).click();
}

test('after hydration, navigation happens in the page without a full reload', async ({ page }) => {
  await signInFresh(page, 'admin@acme.test');
  await page.evaluate(() => ((window as any).__no_reload_marker = 'still here'));
  await navigate(page, 'Team');
  await expect(page).toHaveURL(/\/team$/);
  await expect(page.getByRole('heading', { name: 'Team' })).toBeVisible();
  await navigate(page, 'Audit log');
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__no_reload_marker)).toBe('still here');
});

test('an unknown address shows the not-found page', async ({ page }) => {
  await signInFresh(page, 'qa@acme.test');
  const res = await page.goto('/no-such-page');
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('the header fits the viewport without horizontal scrolling', async ({ page }) => {
  await signInFresh(page, 'admin@acme.test');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
});

test('on a narrow screen every page is in the menu, and tables scroll inside their card', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 }); // a phone, in every project
  await signInFresh(page, 'admin@acme.test');
  const menu = page.getByTestId('narrow-menu');
  await expect(menu).toContainText('Dashboard');
  await menu.locator('summary').click();
  const nav = page.getByRole('navigation', { name: 'Main mobile' });
  for (const label of ['Contacts', 'Customers', 'Pipeline', 'Escalations', 'Examples', 'Templates', 'Team', 'Audit log', 'AI settings']) {
    await expect(nav.getByRole('link', { name: label })).toBeVisible();
  }
  await nav.getByRole('link', { name: 'Contacts' }).click();
  await expect(page.getByRole('heading', { name: 'Contacts' })).toBeVisible();
  await expect(nav).toBeHidden(); // choosing a page closes the menu
  await expect(menu).toContainText('Contacts');
  const table = page.getByTestId('contacts-table');
  await expect(table).toBeVisible();
  const pageOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(pageOverflow).toBeLessThanOrEqual(0);
  // The table may be wider than the phone: its card scrolls, the page does not.
  const card = table.locator('..');
  const scrolls = await card.evaluate((el) => getComputedStyle(el).overflowX);
  expect(scrolls).toBe('auto');
});
