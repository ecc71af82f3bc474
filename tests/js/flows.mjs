// The seed's JavaScript flows with the official @inferencesh/sdk, unchanged, against a real
// `brushwork serve`: only baseUrl differs from the hosted platform. Prints one JSON object of
// what each flow saw; tests/e2e/test_infsh.py asserts on it.
//
//   BASE_URL=http://127.0.0.1:8420/infsh API_KEY=... PHOTO=photo.png WEBHOOK=http://... \
//     node --import ./register.mjs flows.mjs
import { readFileSync } from "node:fs";
import { inference, InferenceError, TaskStatusCompleted } from "@inferencesh/sdk";

const { BASE_URL, API_KEY, PHOTO, WEBHOOK, APP = "openai/gpt-image-2" } = process.env;
const client = inference({ apiKey: API_KEY, baseUrl: BASE_URL });
const polling = inference({ apiKey: API_KEY, baseUrl: BASE_URL, stream: false, pollIntervalMs: 100 });
const low = { quality: "low" };
const seen = {};

async function refusal(promise) {
  try {
    await promise;
    return { refused: false };
  } catch (error) {
    return {
      refused: true,
      status: error instanceof InferenceError ? error.statusCode : null,
      message: String(error.message),
      body: error.responseBody ? JSON.parse(error.responseBody) : null,
    };
  }
}

async function fetched(uri) {
  const response = await fetch(uri); // a plain GET, no key: signed like the hosted CDN
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, type: response.headers.get("content-type"), png: bytes[1] === 0x50 };
}

// run and wait (the seed's first example), streaming updates as they come
const statuses = [];
const result = await client.run(
  { app: APP, input: { prompt: "a cat wearing a tiny top hat, oil painting style", ...low } },
  {
    onUpdate: (update) => statuses.push(update.status),
    onPartialUpdate: (update) => statuses.push(update.status),
  },
);
seen.run = {
  status: result.status,
  statuses,
  images: result.output.images.length,
  file: await fetched(result.output.images[0].uri),
};

// the same by polling (stream: false)
const polled = await polling.run({ app: APP, input: { prompt: "a lighthouse on a cliff", ...low } });
seen.poll = { status: polled.status };

// files.upload, then the uploaded file's uri as an input
const photo = readFileSync(PHOTO);
const file = await client.files.upload(photo.toString("base64"), {
  filename: "photo.png",
  contentType: "image/png",
});
const edited = await client.run({
  app: APP,
  input: { prompt: "make it look like winter", images: [file.uri], ...low },
});
seen.upload = { id: file.id, uri: file.uri, status: edited.status, file: await fetched(file.uri) };

// a data URI and a Blob in the input: uploaded by the SDK on its own
const dataUri = `data:image/png;base64,${photo.toString("base64")}`;
const blob = new Blob([photo], { type: "image/png" });
const auto = await client.run({
  app: APP,
  input: { prompt: "put both on a marble table", images: [dataUri, blob], ...low },
});
seen.auto_upload = { status: auto.status, images: auto.input.images };

// a webhook with wait: false
const queued = await client.run(
  { app: APP, input: { prompt: "a red bicycle", ...low }, webhook: WEBHOOK },
  { wait: false },
);
seen.webhook = { id: queued.id, status: queued.status };

// cancel
const doomed = await client.run(
  { app: APP, input: { prompt: "a crowded harbour at dusk", quality: "high", n: 4 } },
  { wait: false },
);
await client.cancel(doomed.id);
seen.cancel = { status: (await client.tasks.get(doomed.id)).data.status };

// a bad size: the server's message, in RFC 9457 problem+json
seen.bad_size = await refusal(client.run({ app: APP, input: { prompt: "x", width: 13 } }));

// a session of three passes: new → call → call → end → refused after the end
const first = await client.run({
  app: APP,
  input: { prompt: 'a poster that says "HELLO"', ...low },
  session: "new",
  session_timeout: 300,
});
const sessionId = first.session_id;
const second = await client.run({ app: APP, input: { prompt: "make it blue" }, session: sessionId });
const third = await client.run({ app: APP, input: { prompt: "add rain" }, session: sessionId });
const info = (await client.sessions.get(sessionId)).data;
const listed = (await client.sessions.list()).data;
await client.sessions.end(sessionId);
seen.session = {
  id: sessionId,
  statuses: [first.status, second.status, third.status],
  parents: [first.parent_id ?? null, second.parent_id ?? null, third.parent_id ?? null],
  ids: [first.id, second.id, third.id],
  call_count: info.call_count,
  state: info.status,
  listed: listed.some((s) => s.id === sessionId),
  after_end: await refusal(
    client.run({ app: APP, input: { prompt: "once more" }, session: sessionId }),
  ),
  ended: (await client.sessions.get(sessionId)).data.status,
};

// POST /tasks/list, and the completed constant the SDK exports
const page = (await client.tasks.list({ limit: 3 })).data;
seen.list = { items: page.items.length, has_next: page.has_next, completed: TaskStatusCompleted };

console.log(JSON.stringify(seen));
