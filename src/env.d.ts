// Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declared here (see .dev.vars.example).
declare namespace Cloudflare {
  interface Env {
    ADMIN_TOKEN?: string;
    SUMMARY_OPENAI_API_KEY?: string;
    FILE_URL_SECRET?: string;
    UPSTASH_REDIS_REST_TOKEN?: string;
    AUTH_JWT_SECRET?: string;
  }
}
