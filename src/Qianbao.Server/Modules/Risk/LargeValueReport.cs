using System.Globalization;
using CsvHelper;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// <c>GET /admin/v1/reports/large-value?date=YYYY-MM-DD</c> → <c>text/csv</c> with the header
/// <c>date,subject_type,subject_id,movement_id,direction,amount,currency,counterparty_id</c>: the movements of that
/// China day that a <c>large_value</c> hit made reportable (PBOC Order 2016 No. 3), in time order; <c>amount</c> in
/// minor units, as everywhere in the API. Roles finance and risk.
/// </summary>
internal static class LargeValueReport
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/reports/large-value", HandleAsync).RequireOperator(OperatorRole.Finance, OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(AmlStore store, CancellationToken ct, string? date = null)
    {
        if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            return ApiProblem.BadRequest(ErrorCodes.InvalidDate, "date must be a calendar date YYYY-MM-DD (China time).");
        var text = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var rows = await store.LargeValueAsync(day, ct);
        await using var writer = new StringWriter(CultureInfo.InvariantCulture);
        await using (var csv = new CsvWriter(writer, CultureInfo.InvariantCulture))
        {
            foreach (var header in (string[])["date", "subject_type", "subject_id", "movement_id", "direction", "amount", "currency", "counterparty_id"])
                csv.WriteField(header);
            await csv.NextRecordAsync();
            foreach (var m in rows)
            {
                csv.WriteField(text);
                csv.WriteField(AmlNames.Name(m.SubjectType));
                csv.WriteField(m.SubjectId.ToString());
                csv.WriteField(m.Id.ToString());
                csv.WriteField(AmlNames.Name(m.Direction));
                csv.WriteField(m.AmountMinor.ToString(CultureInfo.InvariantCulture));
                csv.WriteField(m.Currency);
                csv.WriteField(m.CounterpartyId?.ToString() ?? "");
                await csv.NextRecordAsync();
            }
        }
        return Results.Text(writer.ToString(), "text/csv; charset=utf-8");
    }
}
