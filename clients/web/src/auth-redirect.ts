// The page Entra ID sends the sign-in popup back to: MSAL reads the answer from the address, hands it to the
// monitor page that opened the popup, and closes the popup.
import { broadcastResponseToMainFrame } from "@azure/msal-browser/redirect-bridge";

broadcastResponseToMainFrame().catch((error: Error) => {
  const message = document.querySelector("#message");
  if (message) message.textContent = `Sign-in could not finish: ${error.message}. Close this window and try again.`;
});
