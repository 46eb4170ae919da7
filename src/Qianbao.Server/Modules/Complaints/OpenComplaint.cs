using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>
/// <c>POST /v1/complaints {trade_no?, transfer_id?, category, text}</c> → 201 <c>{id, status:"open", category, ...}</c>.
/// Categories: <c>unauthorised</c>, <c>not_received</c>, <c>wrong_amount</c>, <c>merchant_service</c>, <c>other</c>. At most
/// one of <c>trade_no</c> (a trade the user paid) and <c>transfer_id</c> (a ledger transfer into or out of the user's
/// wallet); someone else's, or one that does not exist, is 404 as any stranger's object. The row and its
/// <c>complaint.opened</c> event commit together.
/// </summary>
internal static class OpenComplaint
{
    public sealed record Request(string? TradeNo, string? TransferId, string? Category, string? Text);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/complaints", HandleAsync).RequireUser().WithTags("Complaints");

    private static async Task<IResult> HandleAsync(HttpContext http, ComplaintStore store, BuyerTrades trades, MoneyPipeline money, EventSignal events,
        TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!ComplaintNames.TryParseCategory(request!.Category, out var category))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCategory, "category must be unauthorised, not_received, wrong_amount, merchant_service or other.");
        if (ComplaintStore.CleanText(request.Text, ComplaintStore.TextLengthMax) is not { } text)
            return ApiProblem.BadRequest(ErrorCodes.InvalidText, $"text must be 1-{ComplaintStore.TextLengthMax} characters.");
        Guid? transferId = null;
        if (request.TradeNo is not null && request.TransferId is not null)
            return ApiProblem.BadRequest(ErrorCodes.InvalidSubject, "Name at most one of trade_no and transfer_id.");
        if (request.TransferId is not null)
        {
            if (!Guid.TryParse(request.TransferId, out var t)) return ApiProblem.BadRequest(ErrorCodes.InvalidSubject, "transfer_id must be a transfer's id.");
            transferId = t;
        }
        if (request.TradeNo is { Length: 0 or > 64 }) return ApiProblem.BadRequest(ErrorCodes.InvalidSubject, "trade_no must be 1-64 characters.");

        var userId = http.UserId();
        Guid? merchantId = null;
        if (request.TradeNo is { } tradeNo)
        {
            var trade = await trades.FindAsync(tradeNo, ct);
            if (trade?.buyer_id != userId) return ApiProblem.NotFound();
            merchantId = trade!.merchant_id;
        }
        if (transferId is { } tid && !await TouchesWalletAsync(money, tid, userId, ct)) return ApiProblem.NotFound();

        var nowUs = clock.GetUnixMicroseconds();
        var row = new ComplaintRow
        {
            id = Guid.CreateVersion7(), user_id = userId, trade_no = request.TradeNo, transfer_id = transferId, category = (short)category, text = text,
            status = (short)ComplaintStatus.Open, created_at_us = nowUs, updated_at_us = nowUs, merchant_id = merchantId,
        };
        await using (var connection = await store.Db.OpenAsync(ct))
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new Dapper.CommandDefinition("""
                INSERT INTO complaints (id, user_id, trade_no, transfer_id, category, text, status, created_at_us, updated_at_us, merchant_id)
                VALUES (@id, @user_id, @trade_no, @transfer_id, @category, @text, @status, @created_at_us, @updated_at_us, @merchant_id)
                """, new { row.id, row.user_id, row.trade_no, row.transfer_id, category = (int)row.category, row.text, status = (int)row.status, row.created_at_us,
                row.updated_at_us, row.merchant_id }, tx, cancellationToken: ct));
            await EventLog.AppendAsync(connection, tx,
                [new ComplaintOpened(row.id, userId, ComplaintNames.Of(category), row.trade_no, transferId)
                {
                    EventId = DomainEvent.IdFor<ComplaintOpened>(row.id.ToString("N")), OccurredAtUs = nowUs,
                }], ct);
            await tx.CommitAsync(ct);
        }
        events.Nudge();
        return Results.Json(ComplaintStore.Body(row, []), JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>Whether the ledger transfer <paramref name="id"/> moved money into or out of one of the user's wallets.</summary>
    private static async Task<bool> TouchesWalletAsync(MoneyPipeline money, Guid id, Guid userId, CancellationToken ct)
    {
        var t = await money.GetTransferAsync(new TransferId(id), ct);
        if (t is null) return false;
        var wallet = ChartOfAccounts.UserWallet(userId, t.Currency).Id;
        return t.DebitAccountId == wallet || t.CreditAccountId == wallet;
    }
}
