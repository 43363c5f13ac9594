// The reproduction's Worker: reads a 41-byte HTML body with connect-es's envelope reader and says how long the
// read took, against the same body read plainly. See run.ts.
import { createEnvelopeReadableStream } from "@connectrpc/connect/protocol";

const page = () => new TextEncoder().encode("<html><body>502 Bad Gateway</body></html>");

export default {
  async fetch(): Promise<Response> {
    const plainStarted = performance.now();
    await new Response(page()).arrayBuffer();
    const plainMs = performance.now() - plainStarted;

    const started = performance.now();
    const outcome = await createEnvelopeReadableStream(new Response(page()).body!)
      .getReader()
      .read()
      .then(
        () => "read an envelope",
        (error: unknown) => `failed: ${String(error)}`,
      );
    const declared = new DataView(page().buffer).getUint32(1);
    return Response.json({ declaredBytes: declared, outcome, envelopeReaderMs: performance.now() - started, plainReadMs: plainMs });
  },
};
