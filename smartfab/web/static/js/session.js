// Who is logged in, logging out, and what to do when the session ends: back to the login page,
// keeping the page that was open (the fragment) to return to after logging in again.

import { send } from "./api.js";

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
