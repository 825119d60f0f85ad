import { expect, Page } from '@playwright/test';

export const PASSWORD = 'smartcrm-demo';

export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Opens the sign-in page, waits for hydration, and signs in. */
export async function signInFresh(page: Page, email: string) {
  await page.goto('/sign-in');
  await waitForHydration(page);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** The app is hydrated once the wasm bundle has run and the router handles clicks. */
export async function waitForHydration(page: Page) {
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached' });
}
