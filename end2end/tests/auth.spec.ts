import { expect, test } from '@playwright/test';
import { signIn, signInFresh, waitForHydration } from './helpers';

const roles = [
  { email: 'admin@acme.test', name: 'Avery Admin', nav: ['Dashboard', 'Contacts', 'Customers', 'Pipeline', 'Escalations', 'Examples', 'Templates', 'Rules', 'Prompts', 'Models', 'Team', 'Audit log', 'AI settings'] },
  { email: 'manager@acme.test', name: 'Morgan Manager', nav: ['Dashboard', 'Contacts', 'Customers', 'Pipeline', 'Escalations', 'Examples', 'Templates', 'Rules', 'Prompts'] },
  { email: 'rep@acme.test', name: 'Riley Rep', nav: ['Dashboard', 'Contacts'] },
  { email: 'qa@acme.test', name: 'Quinn Tester', nav: ['Dashboard', 'Contacts', 'Customers', 'Pipeline', 'Escalations', 'Examples', 'Templates', 'Rules', 'Prompts'] },
];

for (const role of roles) {
  test(`${role.email} signs in and sees the dashboard with real counts`, async ({ page }) => {
    await signInFresh(page, role.email);
    await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
    await expect(page.getByTestId('workspace-name')).toHaveText('Acme Growth');
    await expect(page.getByText(role.name).first()).toBeVisible();
    const counts = page.getByRole('definition').first();
    await expect(counts).toHaveText('4');
    const nav = page.getByRole('navigation', { name: 'Main', exact: true });
    await expect(nav.getByRole('link')).toHaveText(role.nav);
  });
}

test('a wrong password shows the error and keeps the email', async ({ page }) => {
  await page.goto('/sign-in');
  await waitForHydration(page);
  await signIn(page, 'admin@acme.test', 'definitely-wrong');
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(page.getByLabel('Email')).toHaveValue('admin@acme.test');
});

test('a signed-out visit to the dashboard lands on sign-in and returns after it', async ({ page }) => {
  await page.goto('/audit');
  await expect(page).toHaveURL(/\/sign-in\?next=\/audit$/);
  await waitForHydration(page);
  await signIn(page, 'admin@acme.test');
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
});

test('signing out ends the session', async ({ page }) => {
  await signInFresh(page, 'manager@acme.test');
  await page.getByTestId('user-menu').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/sign-in\?next=\/dashboard$/);
});

test('the session cookie is HttpOnly and SameSite=Lax', async ({ page, context }) => {
  await signInFresh(page, 'qa@acme.test');
  const cookie = (await context.cookies()).find((c) => c.name === 'smartcrm_session');
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe('Lax');
  expect(await page.evaluate(() => document.cookie)).not.toContain('smartcrm_session');
});
