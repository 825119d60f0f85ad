import { expect, test } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// A manager adds a negative example with its annotation (a missing reason is named beside its
// field), sees it embedded, then finds it by similarity from a paraphrase.
test('a manager adds a negative example and finds it by similarity', async ({ page }) => {
  test.setTimeout(90_000);
  const marker = `${Date.now()}`;
  const text = `ACT NOW!!! Our unbeatable window cleaning deal ${marker} ends at midnight, buy before you regret it.`;
  await signInFresh(page, 'manager@acme.test');
  await page.getByRole('navigation', { name: 'Main', exact: true }).getByRole('link', { name: 'Examples' }).click();
  await expect(page.getByTestId('examples-list')).toBeVisible();
  await waitForHydration(page);
  await page.getByTestId('new-example').click();
  await expect(page.getByRole('heading', { name: 'New example' })).toBeVisible();
  await waitForHydration(page);

  await page.getByLabel('Bad example (avoid this)').check();
  await page.getByLabel('Content', { exact: true }).fill(text);
  await page.getByTestId('save-example').click();
  await expect(page.getByTestId('error-annotation')).toContainText('Say why it is good or bad');
  await expect(page.getByLabel('Content', { exact: true })).toHaveValue(text);

  await page.getByLabel('Why it is good or bad').fill('Shouting, fake urgency and pressure instead of a reason to act.');
  await page.getByLabel('What to copy or avoid').fill('Avoid countdowns and capitals.');
  await page.getByTestId('save-example').click();
  await expect(page.getByTestId('example-vector')).toContainText('Embedded with');
  await waitForHydration(page);

  await page.goto('/examples?polarity=negative');
  await expect(page.getByTestId('examples-list')).toContainText(marker);
  await waitForHydration(page);
  await page.getByLabel('Text to compare').fill('Hurry!!! This unbeatable cleaning deal ends tonight, buy now or regret it');
  await page.getByTestId('search-similar').click();
  const first = page.getByTestId('similar-results').locator('li').first();
  await expect(first).toContainText(marker);
  await expect(first.getByTestId('distance')).toContainText('distance 0.');
});
