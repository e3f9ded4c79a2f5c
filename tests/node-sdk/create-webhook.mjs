// Sinch's official Node SDK, unmodified, against sinch-mock: OAuth2 token,
// then a webhook creation. Prints the created webhook as JSON.
// Usage: node create-webhook.mjs BASE_URL PROJECT_ID KEY_ID KEY_SECRET
import { SinchClient } from '@sinch/sdk-core';

const [baseUrl, projectId, keyId, keySecret] = process.argv.slice(2);
const sinch = new SinchClient({
  projectId,
  keyId,
  keySecret,
  conversationHostname: baseUrl,
  authHostname: baseUrl,
});
const webhook = await sinch.conversation.webhooks.create({
  webhookCreateRequestBody: {
    app_id: 'node-app',
    target: 'https://example.com/from-node',
    target_type: 'HTTP',
    triggers: ['MESSAGE_INBOUND', 'MESSAGE_DELIVERY'],
    secret: 'node-secret',
  },
});
console.log(JSON.stringify(webhook));
