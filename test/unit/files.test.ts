// How uploads are named, keyed and described, and the signed, expiring URLs agents fetch them with.
import { describe, expect, it } from "vitest";
import { contentDisposition, isStoredFileName, normalizedContentType, r2KeyFor, safeOriginalName, storedFileName } from "../../src/domain/files/file-names";
import { isValidFileSignature, signedFileUrl } from "../../src/domain/files/file-urls";

describe("file names", () => {
  it("keeps what the user called the file, without path or control characters", () => {
    expect(safeOriginalName("C:\\Users\\me\\report\u0000.pdf")).toBe("report.pdf");
    expect(safeOriginalName("../../etc/passwd")).toBe("passwd");
    expect(safeOriginalName("   ")).toBe("file");
  });

  it("stores a file under a fresh unguessable name with its plain extension", () => {
    const names = new Set(Array.from({ length: 100 }, () => storedFileName("Chart.PNG")));
    expect(names.size).toBe(100);
    for (const name of names) {
      expect(name).toMatch(/^[A-Za-z0-9_-]{22}\.png$/);
      expect(isStoredFileName(name)).toBe(true);
    }
    expect(storedFileName("archive.tar.gz!")).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("recognizes only plain stored names", () => {
    for (const bad of ["../x", ".hidden", "a/b", "", "x".repeat(201)]) expect(isStoredFileName(bad)).toBe(false);
  });

  it("keys objects by user and session, and serves anything executable as an attachment", () => {
    expect(r2KeyFor("a b", "s-1", "f.png")).toBe("users/a%20b/sessions/s-1/f.png");
    expect(normalizedContentType("Image/PNG; charset=binary")).toBe("image/png");
    expect(normalizedContentType("not a type")).toBe("application/octet-stream");
    expect(contentDisposition("image/png", "chart.png")).toMatch(/^inline;/);
    expect(contentDisposition("text/html", "page.html")).toMatch(/^attachment;/);
    expect(contentDisposition("application/pdf", "résumé \"1\".pdf")).toBe(
      `inline; filename="r_sum_ _1_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.pdf`,
    );
  });
});

describe("signed file URLs", () => {
  const secret = "unit-secret";
  const now = 1_700_000_000_000;

  async function parts(url: string) {
    const parsed = new URL(url);
    return { path: parsed.pathname, expires: parsed.searchParams.get("expires") ?? undefined, signature: parsed.searchParams.get("signature") ?? undefined };
  }

  it("accepts its own URL until it expires", async () => {
    const url = await signedFileUrl("https://chat.example", "abc.png", secret, 900, now);
    const { path, expires, signature } = await parts(url);
    expect(path).toBe("/files/abc.png");
    expect(await isValidFileSignature("abc.png", expires, signature, secret, now)).toBe(true);
    expect(await isValidFileSignature("abc.png", expires, signature, secret, now + 901_000)).toBe(false);
  });

  it("refuses another file, another expiry, another secret or a mangled signature", async () => {
    const { expires, signature } = await parts(await signedFileUrl("https://chat.example", "abc.png", secret, 900, now));
    expect(await isValidFileSignature("abd.png", expires, signature, secret, now)).toBe(false);
    expect(await isValidFileSignature("abc.png", String(Number(expires) + 1), signature, secret, now)).toBe(false);
    expect(await isValidFileSignature("abc.png", expires, signature, "other", now)).toBe(false);
    expect(await isValidFileSignature("abc.png", expires, "%%%", secret, now)).toBe(false);
    expect(await isValidFileSignature("abc.png", undefined, signature, secret, now)).toBe(false);
  });
});
