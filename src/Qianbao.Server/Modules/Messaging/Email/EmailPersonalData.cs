using Qianbao.Server.Modules.Identity.DataRights;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>The person's e-mail addresses in their export (in full: it is their own), erased when the account closes.</summary>
internal sealed class EmailPersonalData(EmailAddresses addresses) : IPersonalDataSource
{
    public async Task<IReadOnlyDictionary<string, object?>> ExportAsync(DataSubject subject, CancellationToken ct)
    {
        var verified = await addresses.VerifiedAsync(subject.UserId, ct);
        var pending = await addresses.PendingAsync(subject.UserId, ct);
        return new Dictionary<string, object?>
        {
            ["email"] = new { address = verified?.Address, verified_at = verified?.VerifiedAt, pending },
        };
    }

    public Task EraseAsync(DataSubject subject, CancellationToken ct) => addresses.EraseAsync(subject.UserId, ct);
}
