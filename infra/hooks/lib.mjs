// What the azd hooks share. They are Node.js scripts (Node is a deploy prerequisite anyway) so that the same
// hook runs under azd on Linux, macOS and Windows.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const windows = process.platform === "win32";

export function fail(message) {
  console.error(`\n${message}\n`);
  process.exit(1);
}

export function env(name, { required = true, hint = "" } = {}) {
  const value = (process.env[name] ?? "").trim();
  if (!value && required) fail(`${name} is not set.${hint ? " " + hint : ""}`);
  return value;
}

/** Runs az or azd; on Windows they are .cmd files, which Node starts only through the shell. */
export function run(tool, args, { input } = {}) {
  const quoted = windows ? args.map((a) => `"${String(a).replaceAll('"', '""')}"`) : args;
  const result = spawnSync(tool, quoted, { encoding: "utf8", input, shell: windows, stdio: ["pipe", "pipe", "pipe"] });
  if (result.error) fail(`Could not run ${tool}: ${result.error.message}. Is it installed and on PATH?`);
  return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** `az rest`, with a JSON body passed as a file (no shell quoting of JSON on any platform). */
export function azRest(method, uri, body) {
  const folder = body === undefined ? null : mkdtempSync(join(tmpdir(), "railcloud-hook-"));
  try {
    const args = ["rest", "--method", method, "--uri", uri, "--output", "json"];
    if (folder) {
      const file = join(folder, "body.json");
      writeFileSync(file, JSON.stringify(body));
      args.push("--headers", "Content-Type=application/json", "--body", `@${file}`);
    }
    return run("az", args);
  } finally {
    if (folder) rmSync(folder, { recursive: true, force: true });
  }
}
