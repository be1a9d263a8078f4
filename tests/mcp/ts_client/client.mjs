// An independent MCP client: the official TypeScript SDK, with its own OAuth 2.1 code.
// It discovers the authorization server from the 401, registers, sends the user to the
// consent page (played here by fetch: read the page, paste the key, approve), exchanges
// the code with PKCE, then lists the tools and calls two of them.
//   usage: node client.mjs MCP_URL API_KEY BUSINESS_ID
// Prints one JSON line with what it saw.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [mcpUrl, apiKey, businessId] = process.argv.slice(2);
const redirectUrl = "http://localhost:6274/oauth/callback";

class Provider {
  constructor() { this.client = undefined; this.saved = undefined; this.verifier = undefined; this.code = undefined; }
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK test client",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(url) {
    const page = await fetch(url);
    if (page.status !== 200) throw new Error(`consent page answered ${page.status}`);
    const cookie = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const html = await page.text();
    const signed = html.match(/name="request" value="([^"]+)"/)[1];
    const decision = await fetch(new URL("/oauth/authorize", url), {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ request: signed, action: "approve", api_key: apiKey }),
    });
    const location = new URL(decision.headers.get("location"));
    this.code = location.searchParams.get("code");
    this.iss = location.searchParams.get("iss");
  }
}

const provider = new Provider();
const connect = async () => {
  const client = new Client({ name: "ts-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  return client;
};

let client;
try {
  client = await connect();
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await transport.finishAuth(provider.code);
  client = await connect();
}
const tools = await client.listTools();
const businesses = await client.callTool({ name: "list_businesses", arguments: {} });
const content = await client.callTool({
  name: "generate_content",
  arguments: { prompt: "Cold brew season", businessId, suggestionCount: 1 },
});
console.log(JSON.stringify({
  tools: tools.tools.map((t) => t.name).sort(),
  businesses: businesses.structuredContent,
  creditsUsed: content.structuredContent.creditsUsed,
  iss: provider.iss,
  tokenType: provider.saved?.token_type,
  hasRefreshToken: Boolean(provider.saved?.refresh_token),
}));
await client.close();
