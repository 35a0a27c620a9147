// azd preprovision hook: checks what provisioning needs, and gives the TURN VM an admin SSH key when none was set.
// Azure refuses a Linux VM with password login off and no key; SSH is never open to the internet, so unless you
// set RAILCLOUD_TURN_SSH_PUBLIC_KEY yourself, the key is a throwaway one whose private half is never written.
// Administer the VM with `az vm run-command invoke` (README, Deploy).
import { generateKeyPairSync } from "node:crypto";
import { env, fail, run } from "./lib.mjs";

env("RAILCLOUD_API_CLIENT_ID", { hint: "Register the API in Entra ID first and run: azd env set RAILCLOUD_API_CLIENT_ID <its appId> (README, Deploy)." });

/** An OpenSSH "ssh-rsa" public key line from an RSA key's JWK (RFC 4253 wire format: string, mpint e, mpint n). */
function openSshRsa(jwk) {
  const field = (bytes) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const mpint = (base64url) => {
    const bytes = Buffer.from(base64url, "base64url");
    return field(bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
  };
  return `ssh-rsa ${Buffer.concat([field(Buffer.from("ssh-rsa")), mpint(jwk.e), mpint(jwk.n)]).toString("base64")} railcloud-turn-throwaway`;
}

if (!env("RAILCLOUD_TURN_SSH_PUBLIC_KEY", { required: false })) {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 3072 });
  const key = openSshRsa(publicKey.export({ format: "jwk" }));
  const set = run("azd", ["env", "set", "RAILCLOUD_TURN_SSH_PUBLIC_KEY", key]);
  if (set.code !== 0) fail(`azd env set RAILCLOUD_TURN_SSH_PUBLIC_KEY failed:\n${set.stderr}`);
  console.log("The TURN VM gets a throwaway admin SSH key (no private key is kept; SSH is closed anyway).");
  console.log("To log in with your own key instead: azd env set RAILCLOUD_TURN_SSH_PUBLIC_KEY \"$(cat ~/.ssh/id_rsa.pub)\"");
}
