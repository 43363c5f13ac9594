// A refused credential keeps its short text (`Invalid credential`, `Missing credential: …`) and says in `detail`
// what its holder can fix: the JWT check that failed (a missing `exp`, the signature), an algorithm nothing here
// accepts, and how to send a credential at all.
import { SignJWT } from "jose";
import { beforeAll, expect, it } from "vitest";
import { backendFetch, createUser, upgrade } from "../workerd/helpers/backend";
import { JWT_SECRET as SECRET } from "../workerd/helpers/env";

let alice: string;

beforeAll(async () => {
  alice = (await createUser({ balance: 1 })).user_id;
});

const body = async (response: Response) => (await response.json()) as { message: string; data: null; detail?: string };

it("names the missing exp claim of a JWT that has none", async () => {
  const noExp = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(alice).setIssuedAt().sign(SECRET);
  const response = await upgrade(`?token=${noExp}`);
  expect(response.status).toBe(401);
  expect(await body(response)).toEqual({ message: "Invalid credential", data: null, detail: 'the JWT failed a check: missing required "exp" claim' });
});

it("says the signature failed for a JWT signed with another key", async () => {
  const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(alice).setExpirationTime("5m").sign(new TextEncoder().encode("other"));
  const response = await backendFetch("/upload", { method: "POST", headers: { authorization: `Bearer ${forged}` } });
  expect(response.status).toBe(401);
  expect(await body(response)).toMatchObject({ message: "Invalid credential", detail: expect.stringContaining("signature verification failed") });
});

it("names the accepted algorithms for a JWT nothing here can verify", async () => {
  const hs512 = await new SignJWT({}).setProtectedHeader({ alg: "HS512" }).setSubject(alice).setExpirationTime("5m").sign(new TextEncoder().encode("x".repeat(64)));
  const response = await upgrade("", { authorization: `Bearer ${hs512}` });
  expect(response.status).toBe(401);
  expect(await body(response)).toEqual({
    message: "Invalid credential",
    data: null,
    detail: 'the JWT\'s alg "HS512" is not accepted here; accepted: HS256 (AUTH_JWT_SECRET), RS/PS/ES/EdDSA (AUTH_JWKS_URL)',
  });
});

it("says what a credential is and how the WebSocket takes one when there is none", async () => {
  const response = await upgrade();
  expect(response.status).toBe(401);
  const answer = await body(response);
  expect(answer.message).toBe("Missing credential: send Authorization: Bearer <credential>");
  expect(answer.detail).toContain("?token=<credential>");
  expect(answer.detail).toContain("API key");
});
