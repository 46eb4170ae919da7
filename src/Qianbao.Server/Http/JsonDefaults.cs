using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qianbao.Server.Http;

public static class JsonDefaults
{
    /// <summary>The native API's JSON: snake_case names, nulls omitted, unknown members rejected by the DTOs that say so.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.NumberHandling = JsonNumberHandling.Strict;
        return options;
    }
}
