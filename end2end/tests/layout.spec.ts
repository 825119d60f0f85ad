import { expect, test } from '@playwright/test';
import { signInFresh } from './helpers';

test('after hydration, navigation happens in the page without a full reload', async ({ page }) => {
  await signInFresh(page, 'admin@acme.test');
  await page.evaluate(() => ((window as any).__no_reload_marker = 'still here'));
  const nav = page.getByRole('navigation', { name: /Main/ }).filter({ visible: true });
  await nav.getByRole('link', { name: 'Team' }).click();
  await expect(page).toHaveURL(/\/team$/);
  await expect(page.getByRole('heading', { name: 'Team' })).toBeVisible();
  await nav.getByRole('link', { name: 'Audit log' }).click();
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
