// Signing in to the dashboard: with a password (kept in memory and renewed), or with Microsoft (MSAL, when Entra ID
// is set up). A Microsoft sign-in that cannot be renewed by itself asks the person, and the video goes on meanwhile.
import type { AccountInfo } from "@azure/msal-browser";
import { ApiError, webConfig } from "../api";
import { onSignIn, type TokenSource } from "../signaling";
import { $, addToTimeline, setStatus } from "../ui";
import { dash, page } from "./state";

/** Wires both ways of signing in; <paramref name="connect"/> opens the dashboard for the signed-in monitor. */
export function setUpSignIn(connect: (id: string) => Promise<void>): void {
  onSignIn(page.signInForm, page.signInError, page.status, ["monitor", "supervisor"], "monitor", async (signIn) => {
    dash.tokens = (renew) => signIn.token(renew);
    await connect(signIn.account.id);
  });
  // With Entra ID set up (config.json names the app), staff can sign in with their organisation account instead.
  void webConfig().then((config) => (config.entra ? setUpMicrosoft(config.entra, connect) : undefined));
}

async function setUpMicrosoft(entra: { clientId: string; authority: string; scope: string; knownAuthorities?: string[] }, connect: (id: string) => Promise<void>): Promise<void> {
  const { PublicClientApplication, InteractionRequiredAuthError, AuthError } = await import("@azure/msal-browser");
  // MSAL's popup lands on auth-redirect.html, which hands the answer back to this page and closes.
  const msal = new PublicClientApplication({
    auth: {
      clientId: entra.clientId,
      authority: entra.authority,
      knownAuthorities: entra.knownAuthorities ?? [],
      redirectUri: `${location.origin}/auth-redirect.html`,
    },
  });
  await msal.initialize();
  const button = $<HTMLButtonElement>("#sign-in-entra");
  button.hidden = false;
  let who: AccountInfo | null = null;
  // MSAL could not renew without the person: Entra wants interaction, or the hidden renewal frame never came back
  // (timed_out). Either way a wall dashboard asks, keeps its video, and goes on once the person has signed in again.
  const needsPerson = (error: unknown) =>
    error instanceof InteractionRequiredAuthError || (error instanceof AuthError && error.errorCode === "timed_out");
  let asking: Promise<string> | undefined;
  const askToSignInAgain = (why: string): Promise<string> => asking ??= new Promise<string>((resolve) => {
    const renew = $("#renew-sign-in");
    $("#renew-message").textContent = `Your Microsoft sign-in needs renewing (${why}); video continues.`;
    renew.hidden = false;
    setStatus(page.status, "Sign-in needs renewing", "degraded");
    addToTimeline(page.timeline, `Microsoft sign-in could not be renewed by itself (${why}); waiting for someone to sign in again`, "error");
    $<HTMLButtonElement>("#renew-entra").onclick = async () => {
      try {
        const result = await msal.acquireTokenPopup({ account: who ?? undefined, scopes: [entra.scope] });
        who = result.account;
        renew.hidden = true;
        asking = undefined;
        addToTimeline(page.timeline, "Microsoft sign-in renewed");
        setStatus(page.status, "Connected", "online");
        resolve(result.accessToken);
      } catch (error) {
        $("#renew-message").textContent = `Microsoft sign-in failed (${(error as Error).message}); video continues. Try again.`;
      }
    };
  });
  const entraTokens: TokenSource = async (renew) => {
    if (!who) throw new ApiError(401, "unauthorized", "Not signed in.");
    try {
      return (await msal.acquireTokenSilent({ account: who, scopes: [entra.scope], forceRefresh: renew })).accessToken;
    } catch (error) {
      if (needsPerson(error)) return await askToSignInAgain(error instanceof InteractionRequiredAuthError ? "Microsoft asks to sign in again" : "the renewal timed out");
      throw error;
    }
  };
  button.addEventListener("click", async () => {
    page.signInError.textContent = "";
    try {
      setStatus(page.status, "Signing in…", "connecting");
      const result = await msal.loginPopup({ scopes: [entra.scope] });
      who = result.account;
      dash.tokens = entraTokens;
      await connect((who.username ?? "").split("@")[0]);
      page.signInForm.hidden = true;
    } catch (error) {
      setStatus(page.status, "Signed out", "offline");
      page.signInError.textContent = ApiError.isRefusal(error) && who
        ? `Microsoft sign-in failed: ${who.username} has no RailCloud Monitor or Supervisor role. Ask your administrator to assign one.`
        : `Microsoft sign-in failed: ${(error as Error).message}`;
      who = null;
    }
  });
}
