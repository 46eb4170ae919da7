using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Qianbao.Server.Tests.Infrastructure;

public static class Problems
{
    /// <summary>Asserts a problem-details response with the given status and stable code.</summary>
    public static async Task ShouldBeProblemAsync(this HttpResponseMessage response, int status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(status, text);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", text);
        JsonNode.Parse(text)!["code"]!.GetValue<string>().ShouldBe(code, text);
    }

    public static async Task<Guid> IdAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
}
