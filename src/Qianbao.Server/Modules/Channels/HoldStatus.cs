using Qianbao.Ledger;

namespace Qianbao.Server.Modules.Channels;

/// <summary>How the API names what became of a channel hold (top-up or withdrawal).</summary>
internal static class HoldStatus
{
    public static string Name(PendingState state) => state switch
    {
        PendingState.Pending => "pending",
        PendingState.Posted => "succeeded",
        PendingState.Voided => "failed",
        PendingState.Expired => "expired",
        PendingState.None => "completed",
        _ => throw new InvariantViolationException($"unknown pending state {state}"),
    };
}
