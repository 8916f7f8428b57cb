import type { KindServer } from '../api/kind.js';
import { triggerReconciler } from './reconciler.js';
import { triggerRoutes } from './routes.js';

export const triggerServer: KindServer = { reconciler: triggerReconciler, routes: triggerRoutes };
