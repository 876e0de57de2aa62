// HTTP adapter for Home Assistant ingress sign-in: `POST /api/ingress/session` answers like
// `POST /api/auth` ({bearer, expiration, user}) for the HA user the ingress proxy vouches for.
import type { Router } from 'express';
import type { IngressSignIn } from '../../auth/ingress.js';
import { toPublicUser } from '../../services/users/usersService.js';
import { clientAddress } from './httpApi.js';

export const INGRESS_SESSION_PATH = '/api/ingress/session';

export function mountIngressRoutes(router: Router, ingress: IngressSignIn): void {
  router.post(INGRESS_SESSION_PATH, async (req, res) => {
    const issued = await ingress.signIn(clientAddress(req), req.headers);
    res.status(201).json({ bearer: issued.token, expiration: issued.expiresAt.toISOString(), user: { ...toPublicUser(issued.user), ha_user_id: issued.user.ha_user_id ?? null } });
  });
}
