using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// The operator API in OpenAPI: every <c>/admin/v1</c> operation carries <c>x-roles</c> (the roles allowed, owner first;
/// an empty list for the two anonymous routes) beside the description's "Operator roles: …", and requires the
/// <c>operator</c> bearer scheme (the operator key or an operator access token); user routes list the <c>user</c> scheme
/// in the components for clients to use.
/// </summary>
internal static class OperatorOpenApi
{
    public const string OperatorScheme = "operator";
    public const string UserScheme = "user";

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[OperatorScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer",
                Description = "The bootstrap operator key (Qianbao:OperatorKey, an owner) or an operator access token from POST /admin/v1/auth/token.",
            };
            document.Components.SecuritySchemes[UserScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "A user's access token from POST /v1/auth/token.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var roles = metadata.OfType<OperatorRoles>().LastOrDefault();
            var anonymous = metadata.OfType<AnonymousOperatorRoute>().Any();
            if (roles is null && !anonymous) return Task.CompletedTask;
            var names = roles is null ? [] : roles.Describe().Split(", ");
            operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
            operation.Extensions["x-roles"] = new JsonNodeExtension(new JsonArray([.. names.Select(n => (JsonNode)JsonValue.Create(n))]));
            if (roles is not null)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(OperatorScheme, context.Document)] = [] });
            }
            return Task.CompletedTask;
        });
    }
}
