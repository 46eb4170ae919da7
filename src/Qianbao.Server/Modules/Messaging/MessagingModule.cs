namespace Qianbao.Server.Modules.Messaging;

/// <summary>Outbound messages: the durable queue, the SMS providers (sandbox, webhook), the sender and the templates.</summary>
internal static class MessagingModule
{
    public static IServiceCollection AddMessagingModule(this IServiceCollection services)
    {
        services.AddSingleton<MessageSignal>();
        services.AddSingleton<SmsOutbox>();
        services.AddSingleton<MessageRecipients>();
        services.AddSingleton(MessageRecipients.Sealed);
        services.AddSingleton<Storage.PersonalData.IPlaintextUpgrade, MessagingPlaintextUpgrade>();
        services.AddSingleton<Identity.DataRights.IPersonalDataSource, MessagingPersonalData>();
        services.AddHttpClient(WebhookSmsProvider.HttpClientName, (sp, client) =>
            {
                // The provider bounds the whole exchange itself; this is the same bound for the part HttpClient sees.
                client.Timeout = TimeSpan.FromMilliseconds(sp.GetRequiredService<SmsOptions>().TimeoutMs);
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Qianbao-Sms/1.0");
            })
            // A redirect is not delivery: following it would turn the POST into a GET to wherever it points. The URL is the
            // operator's own configuration, so private addresses are allowed (a relay next to the server is usual).
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.AddSingleton<ISmsProvider>(sp => sp.GetRequiredService<SmsOptions>().Provider switch
        {
            SmsProvider.Webhook => ActivatorUtilities.CreateInstance<WebhookSmsProvider>(sp),
            _ => new SandboxSmsProvider(),
        });
        services.AddSingleton<SmsSender>();
        services.AddHostedService(sp => sp.GetRequiredService<SmsSender>());
        return services;
    }

    public static IEndpointRouteBuilder MapMessagingModule(this IEndpointRouteBuilder app)
    {
        ListSandboxMessages.Map(app);
        return app;
    }
}
