/*
** mcphdr.h: the HTTP request headers that Streamable HTTP 2026-07-28
** mirrors from a JSON-RPC body ("Request Metadata" in
** shared/mcp-spec/2026-07-28/basic/transports/streamable-http.mdx).
**
** A modern request (one whose params._meta carries
** io.modelcontextprotocol/protocolVersion) is POSTed with
** MCP-Protocol-Version equal to that value, Mcp-Method, and for tools/call,
** resources/read and prompts/get Mcp-Name (params.name or params.uri).
** A tools/call also gets one Mcp-Param-{Name} header per argument that the
** tool's inputSchema annotates with x-mcp-header: the annotations are
** learnt from the tools/list results that pass through (mcphdr_tools).
** Values that are not plain header-safe ASCII, or that look like the
** sentinel, are sent as =?base64?...?=.
**
** The body is never changed: the headers only mirror it.
*/
#ifndef DSS_MCPHDR_H
#define DSS_MCPHDR_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

/* The protocol version a request declares in params._meta, or NULL; owned
** by msg. */
const char *mcphdr_meta_version(const cJSON *msg);

/* A header value for v[0..n): v itself when it is safe, else the Base64
** sentinel form.  A new string the caller frees, or NULL (out of memory). */
char *mcphdr_encode(const char *v, size_t n);

/* Append "Name: value" to list; returns the new list, or NULL when memory
** ran out (list is then freed).  A value holding a control character other
** than HTAB (a CR or LF would start another header) is never sent: list
** comes back unchanged. */
struct curl_slist *mcphdr_add(struct curl_slist *list, const char *name,
                              const char *value);

/* Append the standard headers of a modern request msg (MCP-Protocol-Version
** version, Mcp-Method, Mcp-Name where the method has one).  Returns the new
** list, or NULL when memory ran out (list is then freed). */
struct curl_slist *mcphdr_standard(struct curl_slist *list, const cJSON *msg,
                                   const char *version);

/* The x-mcp-header annotations of the tools seen in tools/list results. */
typedef struct mcphdr_tools mcphdr_tools;

mcphdr_tools *mcphdr_tools_new(void);
void mcphdr_tools_free(mcphdr_tools *t);

/* Learn (or forget) the annotations of every tool in a tools/list result.
** A tool whose annotations break the spec's constraints gets none, and a
** sentence naming it and the reason goes to warn (may be NULL). */
void mcphdr_tools_learn(mcphdr_tools *t, const cJSON *result,
                        void (*warn)(void *ud, const char *msg), void *ud);

/* Append the Mcp-Param-* headers of a tools/call request's params.  Returns
** the new list, or NULL when memory ran out (list is then freed). */
struct curl_slist *mcphdr_params(const mcphdr_tools *t, struct curl_slist *list,
                                 const cJSON *params);

#endif
