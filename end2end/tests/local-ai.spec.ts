import { expect, test } from '@playwright/test';
import { signInFresh, waitForHydration } from './helpers';

// Runs against a second app instance with no remote provider configured (LOCAL_BASE_URL, started
// by scripts/test.sh): the built-in local model (SmolLM2-135M, real inference) answers.
test.describe.configure({ mode: 'serial', timeout: 300_000 });

test('with no remote provider, Smart Engagement Tips streams real text from the local model', async ({ page }) => {
  await signInFresh(page, 'rep@acme.test');
  await page.getByRole('link', { name: 'Contacts' }).first().click();
  await page.getByTestId('contacts-table').locator('tbody tr').first().getByRole('link').click();
  await expect(page.getByTestId('contact-name')).toBeVisible();
  await waitForHydration(page);

  await page.getByTestId('ai-run-smart_engagement_tips').click();
  const status = page.getByTestId('ai-status-smart_engagement_tips');
  const text = page.getByTestId('ai-text-smart_engagement_tips');
  // Part of the answer is on screen while the model is still writing.
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="ai-status-smart_engagement_tips"]')?.textContent ?? '';
    const t = document.querySelector('[data-testid="ai-text-smart_engagement_tips"]')?.textContent ?? '';
    return s.startsWith('Writing with local/smollm2-135m-instruct') && t.trim().length > 0;
  }, undefined, { timeout: 90_000 });
  const partial = (await text.innerText()).length;
  await expect(page.getByTestId('ai-notice-smart_engagement_tips')).toHaveText(
    'local SmolLM2-135M: fast and free, low quality — configure a remote model for production',
  );
  await expect(status).toContainText('Answered by local/smollm2-135m-instruct (local)', { timeout: 240_000 });
  const full = (await text.innerText()).trim();
  expect(full.length).toBeGreaterThan(partial);
  expect(full.length).toBeGreaterThan(20);
});

test('an admin sees which providers are configured and tests the local model for real', async ({ page }) => {
  await signInFresh(page, 'admin@acme.test');
  await page.getByRole('link', { name: 'AI settings' }).first().click();
  await expect(page.getByRole('heading', { name: 'AI settings' })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByTestId('provider-state-local_chat')).toHaveText('Ready');
  await expect(page.getByTestId('provider-state-local_embedding')).toHaveText('Ready');
  await expect(page.getByTestId('provider-state-remote_chat')).toHaveText('Not configured');
  await expect(page.getByTestId('route-thinking')).toContainText('local/smollm2-135m-instruct');
  await expect(page.getByTestId('remote-hint')).toContainText('OPENAI_API_KEY');

  await page.getByTestId('provider-test-local_chat').click();
  await expect(page.getByTestId('provider-result-local_chat')).toContainText(/OK in \d+ ms — local\/smollm2-135m-instruct \(local\): Replied "/, { timeout: 60_000 });
  await page.getByTestId('provider-test-local_embedding').click();
  await expect(page.getByTestId('provider-result-local_embedding')).toContainText('Returned a 384-dimensional vector');
  await expect(page.getByTestId('provider-test-remote_chat')).toHaveCount(0);
});
