// npm run user:create -- --username "Test User" --models 4,5,8 --balance 1 [--user-id ID] [--url URL]
// Creates a user through the admin API of a running backend and prints it (note its user_id).
import { parseArgs } from "node:util";
import { DEV_SECRETS } from "../tools/dev-settings.ts";

const { values } = parseArgs({
  options: {
    username: { type: "string" },
    models: { type: "string", default: "" },
    balance: { type: "string", default: "0" },
    "user-id": { type: "string" },
    url: { type: "string", default: process.env.BACKEND_URL ?? "http://127.0.0.1:8787" },
    token: { type: "string", default: process.env.ADMIN_TOKEN ?? DEV_SECRETS.ADMIN_TOKEN },
  },
});
if (!values.username) {
  console.error('usage: npm run user:create -- --username "Test User" --models 4,5,8 --balance 1 [--user-id ID] [--url URL]');
  process.exit(2);
}
const body = {
  username: values.username,
  models: values.models.split(",").filter(Boolean).map(Number),
  balance: Number(values.balance),
  ...(values["user-id"] ? { user_id: values["user-id"] } : {}),
};
const response = await fetch(new URL("/admin/users", values.url), {
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${values.token}` },
  body: JSON.stringify(body),
}).catch((error: Error & { cause?: { code?: string } }) => {
  console.error(`Cannot reach ${values.url}: is \`npm run dev\` running? (${error.cause?.code ?? error.message})`);
  process.exit(1);
});
const text = await response.text();
console.log(text);
process.exit(response.ok ? 0 : 1);
