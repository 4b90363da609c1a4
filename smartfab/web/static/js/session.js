// Who is logged in, logging out, and what to do when the session ends: back to the login page,
// keeping the page that was open (the fragment) to return to after logging in again.

import { get, send } from "./api.js";

export function toLogin() {
  location.replace("login.html" + location.hash);
}

export async function logout() {
  try {
    await send("POST", "logout");
  } finally {
    location.replace("login.html");
  }
}

let me = null;

/** Who is logged in (GET /api/me: name, role, scope), asked once per page load. */
export function whoAmI() {
  me ??= get("me");
  return me;
}

/** `params` narrowed to the user's part of the plant when the user has one and they name no
 * asset: a route whose answer spans the plant answers a user limited to a part only so. */
export async function inScope(params = {}) {
  if (params.under) return params;
  const { scope } = await whoAmI();
  return scope ? { ...params, under: scope } : params;
}
