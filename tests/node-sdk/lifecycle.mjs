// Sinch's official Node SDK, unmodified, against sinch-mock: list, get,
// update (with a mask) and delete. Prints what each answered as one JSON
// object.
// Usage: node lifecycle.mjs BASE_URL PROJECT_ID KEY_ID KEY_SECRET APP_ID UPDATE_ID DELETE_ID
import { SinchClient } from '@sinch/sdk-core';

const [baseUrl, projectId, keyId, keySecret, appId, updateId, deleteId] = process.argv.slice(2);
const sinch = new SinchClient({
  projectId,
  keyId,
  keySecret,
  conversationHostname: baseUrl,
  authHostname: baseUrl,
});
const webhooks = sinch.conversation.webhooks;
const listed = await webhooks.list({ app_id: appId });
const got = await webhooks.get({ webhook_id: updateId });
const updated = await webhooks.update({
  webhook_id: updateId,
  update_mask: ['target', 'triggers'],
  webhookUpdateRequestBody: {
    app_id: appId,
    target: 'https://example.com/updated-by-node',
    triggers: ['MESSAGE_DELIVERY'],
    // Not in the mask: must not be applied.
    secret: 'not-applied',
  },
});
const deleted = await webhooks.delete({ webhook_id: deleteId });
let missing;
try {
  await webhooks.get({ webhook_id: deleteId });
  missing = 'found';
} catch (error) {
  missing = String(error?.statusCode ?? error?.status ?? error?.message ?? error);
}
console.log(JSON.stringify({ listed, got, updated, deleted: deleted ?? null, missing }));
