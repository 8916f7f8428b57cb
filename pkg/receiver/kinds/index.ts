// Registry of receiver kinds: a new one is its kind file (pkg/api/kinds/), its receiver
// file here, and one line below.
import type { ReceiverKind } from '../types.js';
import { taskWebhookReceiver } from './task-webhook.js';

export const receiverKinds: ReadonlyMap<string, ReceiverKind> = new Map([taskWebhookReceiver].map((k) => [k.kind, k]));
