import { expect, test, Page, APIRequestContext } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// The app under test talks to end2end/mock-llm.mjs (started by scripts/test.sh), a stand-in
// for the external provider. Its mode is global, so these tests run one after another.
const MOCK = process.env.MOCK_LLM_URL ?? 'http://127.0.0.1:3199';
test.describe.configure({ mode: 'serial' });

async function providerMode(request: APIRequestContext, mode: 'ok' | 'fail') {
  const res = await request.post(`${MOCK}/__mode`, { data: { mode } });
  expect(res.status()).toBe(204);
}

async function openFirstContact(page: Page): Promise<string> {
  await page.getByRole('link', { name: 'Contacts' }).first().click();
  await expect(page).toHaveURL(/\/contacts$/);
  const firstRow = page.getByTestId('contacts-table').locator('tbody tr').first();
  const name = (await firstRow.getByRole('link').innerText()).trim();
  const lastName = name.split(' ').slice(-1)[0];
  // search for them by last name; they are among the results
  await page.getByLabel('Search').fill(lastName);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${lastName}`));
  const rows = page.getByTestId('contacts-table').locator('tbody tr');
  await expect(rows.first()).toContainText(lastName);
  await page.getByRole('link', { name, exact: true }).first().click();
  await expect(page.getByTestId('contact-name')).toHaveText(name);
  await waitForHydration(page);
  return name;
}

/** Waits until the text is partly there while the model is still writing. */
async function seesStreaming(page: Page, kind: string) {
  await page.waitForFunction((k) => {
    const status = document.querySelector(`[data-testid="ai-status-${k}"]`)?.textContent ?? '';
    const text = document.querySelector(`[data-testid="ai-text-${k}"]`)?.textContent ?? '';
    return status.startsWith('Writing with') && text.length > 0 && !text.endsWith('campaign.');
  }, kind);
}

test.beforeEach(async ({ request }) => providerMode(request, 'ok'));

test('a rep searches a contact, runs each analysis, sees it stream, then served from cache', async ({ page }) => {
  await signInFresh(page, 'rep@acme.test');
  await openFirstContact(page);
  await expect(page.getByTestId('customer-context')).toBeVisible();
  await expect(page.getByTestId('contact-facts')).toContainText('Email reply rate');

  const kinds: [string, string][] = [
    ['smart_engagement_tips', 'gpt-5.2'],
    ['relationship_health', 'gpt-5.2-instant'],
    ['contextual_research', 'gpt-5.2-thinking'],
  ];
  for (const [kind, model] of kinds) {
    await page.getByTestId(`ai-run-${kind}`).click();
    await seesStreaming(page, kind);
    await expect(page.getByTestId(`ai-text-${kind}`)).toHaveText(`Test provider answer for ${model}: call them on Tuesday morning and mention the recall campaign.`);
    await expect(page.getByTestId(`ai-status-${kind}`)).toContainText(`Answered by ${model}`);
  }

  // again: from the shared cache, with its age
  await page.getByTestId('ai-run-smart_engagement_tips').click();
  await expect(page.getByTestId('ai-status-smart_engagement_tips')).toContainText(/Cached (just now|\d+ s ago) · gpt-5\.2/);
  await expect(page.getByTestId('ai-text-smart_engagement_tips')).toContainText('Tuesday morning');

  // refresh asks the model again
  await page.getByTestId('ai-refresh-smart_engagement_tips').click();
  await seesStreaming(page, 'smart_engagement_tips');
  await expect(page.getByTestId('ai-status-smart_engagement_tips')).toContainText('Answered by gpt-5.2');
});

test('a failing provider shows the real error and Retry recovers', async ({ page, request }) => {
  await signInFresh(page, 'rep@acme.test');
  await openFirstContact(page);
  await providerMode(request, 'fail');
  // Refresh skips the cache the previous test filled.
  await page.getByTestId('ai-run-relationship_health').click();
  await expect(page.getByTestId('ai-status-relationship_health')).toContainText(/Cached|Answered/);
  await page.getByTestId('ai-refresh-relationship_health').click();
  const error = page.getByTestId('ai-error-relationship_health');
  await expect(error).toContainText('Relationship Health failed: provider error (HTTP 500): mock provider is down');
  await expect(error).toContainText('model gpt-5.2-instant');
  await expect(error).toContainText(/after \d+\.\d s · 3 attempts/);
  // The refresh failed, so the answer it was to replace is kept, and says so.
  await expect(page.getByTestId('ai-kept-relationship_health')).toContainText('the previous answer');
  await expect(page.getByTestId('ai-text-relationship_health')).toContainText('Tuesday morning');

  await providerMode(request, 'ok');
  await page.getByTestId('ai-retry-relationship_health').click();
  await expect(page.getByTestId('ai-status-relationship_health')).toContainText('Answered by gpt-5.2-instant');
  await expect(error).toHaveCount(0);
});
