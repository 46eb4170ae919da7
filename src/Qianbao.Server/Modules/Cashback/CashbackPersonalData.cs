using Qianbao.Server.Modules.Identity.DataRights;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>
/// The cashback part of the export: the user's credits as <c>GET /v1/cashback</c> lists them. Nothing is erased: the rows name
/// only the user's id, trade numbers and amounts, and they explain ledger transfers that are kept.
/// </summary>
internal sealed class CashbackPersonalData(CashbackStore store) : IPersonalDataSource
{
    public async Task<IReadOnlyDictionary<string, object?>> ExportAsync(DataSubject subject, CancellationToken ct) =>
        new Dictionary<string, object?> { ["cashback"] = (await store.ListAsync(subject.UserId, ct)).Select(c => c.Body()).ToList() };

    public Task EraseAsync(DataSubject subject, CancellationToken ct) => Task.CompletedTask;
}
