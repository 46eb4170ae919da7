namespace Qianbao.Server.Modules.Messaging;

/// <summary>Outbound messages: the durable queue, the SMS providers (sandbox, webhook), the sender and the templates.</summary>
internal static class MessagingModule
{
    public static IServiceCollection AddMessagingModule(this IServiceCollection services, IConfiguration configuration)
    {
        var allowPrivate = Http.PublicAddresses.AllowPrivateFrom(configuration);
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
            .ConfigurePrimaryHttpMessageHandler(() =>
            {
                // A redirect is not delivery: following it would turn the POST into a GET to wherever it points (and a
                // public webhook could redirect into our own network).
                var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
                if (!allowPrivate)
                {
                    // Production: the webhook, like a merchant's notify URL, reaches public addresses only, judged on the
                    // address actually connected to at delivery (so DNS rebinding does not help), without a proxy in between.
                    handler.ConnectCallback = Http.PublicAddresses.ConnectPublicOnlyAsync;
                    handler.UseProxy = false;
                }
                return handler;
            });
        services.AddSingleton<ISmsProvider>(sp => sp.GetRequiredService<SmsOptions>().Provider switch
        {
            SmsProvider.Webhook => ActivatorUtilities.CreateInstance<WebhookSmsProvider>(sp),
            _ => new SandboxSmsProvider(),
        });
        services.AddSingleton<SmsSender>();
        services.AddHostedService(sp => sp.GetRequiredService<SmsSender>());

        // E-mail: SMTP when a host is configured; otherwise kept for the operator in sandbox mode, and in production
        // queued but not sent until SMTP is configured (README: "E-mail").
        services.AddSingleton<Email.EmailOutbox>();
        services.AddSingleton<Email.EmailAddresses>();
        services.AddSingleton(Email.EmailAddresses.Sealed);
        services.AddSingleton<Identity.DataRights.IPersonalDataSource, Email.EmailPersonalData>();
        services.AddSingleton<Email.IEmailProvider>(sp =>
            sp.GetRequiredService<Email.EmailOptions>().SmtpConfigured ? new Email.SmtpEmailProvider(sp.GetRequiredService<Email.EmailOptions>())
            : Hosting.ProductionModeRules.ConfiguredMode(configuration) == Hosting.QianbaoMode.Production ? new Email.UnconfiguredEmailProvider()
            : new Email.SandboxEmailProvider());
        services.AddSingleton<Email.EmailSender>();
        services.AddHostedService(sp => sp.GetRequiredService<Email.EmailSender>());
        return services;
    }

    public static IEndpointRouteBuilder MapMessagingModule(this IEndpointRouteBuilder app)
    {
        ListSandboxMessages.Map(app);
        Email.SetEmail.Map(app);
        Email.VerifyEmail.Map(app);
        return app;
    }
}
