// The OpenAPI document with AUTH_MODE=token: the user's credential (header, or ?token= on the upgrade) is a security
// scheme of the routes that take it, next to the admin token.
import { expect, it } from "vitest";
import { backendFetch } from "../workerd/helpers/backend";

interface Document {
  paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> };
}

it("names the user's credential on the routes that take it", async () => {
  const doc = (await (await backendFetch("/openapi.json")).json()) as Document;
  expect(doc.components.securitySchemes).toMatchObject({
    adminToken: { type: "http", scheme: "bearer" },
    userCredential: { type: "http", scheme: "bearer" },
    userCredentialQuery: { type: "apiKey", in: "query", name: "token" },
  });
  expect(doc.paths["/ws"]?.get?.security).toEqual([{ userCredential: [] }, { userCredentialQuery: [] }]);
  expect(doc.paths["/upload"]?.post?.security).toEqual([{ userCredential: [] }]);
  // A signed link needs no credential.
  expect(doc.paths["/uploads/{fileName}"]?.get?.security).toEqual([{ userCredential: [] }, {}]);
  expect(doc.paths["/files/{fileName}"]?.get?.security).toBeUndefined();
  expect(doc.paths["/admin/users"]?.get?.security).toEqual([{ adminToken: [] }]);
});
