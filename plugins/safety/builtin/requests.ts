/**
 * Harmful requests in the user's message: asking for (or announcing) violence against people, weapons
 * made or bought to hurt, self-harm, crimes, sexual content involving minors, and abuse of a partner,
 * a child or an animal. A request is an asking or intending frame ("how do I", "where can I buy",
 * "help me", "I want to", "what's the best way to") with a harmful act and a victim within the same
 * sentence; the worst acts (a child in a sexual context, a bomb) need no frame. Words shared with
 * harmless requests ("kill a process", "shoot a photo", "steal the show", "bath bomb") are told apart
 * by the object and by explicit exceptions.
 */
import type { Detection, NormalizedText, TextDetector } from '../detectors.js';
import { bounded, compile, words, type Lexicons } from './lexicons.js';

export type RequestCategory = 'violence' | 'weapons' | 'self_harm' | 'crime' | 'minors' | 'abuse';
export const REQUEST_CATEGORIES: RequestCategory[] = ['violence', 'weapons', 'self_harm', 'crime', 'minors', 'abuse'];

const FRAME =
  "(?:how (?:do|can|could|would|should|might|does|did) (?:i|we|you|one|someone|a person|people)|how to|how'?d i|how much|how many|what(?:'s| is| are| would be)? (?:the )?(?:best|easiest|quickest|fastest|simplest|most effective|surest|cheapest|safest|quietest|cleanest|least painful|most painful|right|good|proper) (?:way|ways|method|methods|place|places|thing|things|tool|tools|poison|drug|drugs|weapon|weapons|gun|knife|time|amount|dose|spot)|where (?:can|do|could|should|would|might) (?:i|we|you|one|someone)|where to|who (?:can|could|would|will) (?:i|help)|can (?:you|u|i|we)|could (?:you|u|i|we)|would you|will you|please|help me|teach me|show me|tell me|give me|explain|i (?:really |just |seriously |kinda |kind of |secretly )?(?:want|wanna|need|have|would like|'d like|plan|am planning|'m planning|am going|'m going|'m gonna|am gonna|gonna|intend|am trying|'m trying|am about|'m about|wish i could|have been thinking about|'ve been thinking about|am thinking about|'m thinking about|think i'll|think i will|will|'ll|am ready|'m ready|am looking|'m looking|could)(?: to)?|(?:tips|steps|instructions|ways|guide|advice|ideas|tutorial|recipe) (?:on|for|to|about)|is it (?:possible|easy|hard|legal|okay|ok) to|what would happen if i|what (?:should|can|could|do) i (?:use|need|buy|get|do)|any (?:tips|ideas|advice|way)|i'?m (?:looking|trying|planning|going|about)|looking for|let's|lets|we (?:should|could|want to|need to|are going to|'re going to)|should i|is there a way to|best way to|easiest way to|ways to|steps to|trying to|want to|wanna|need to|plan to|going to|gonna)";
const GAME = /\b(?:in|on|for) (?:the |a |my |this )?(?:game|video game|minecraft|fortnite|roblox|gta|skyrim|elden ring|dark souls|zelda|pokemon|call of duty|cod|valorant|league|overwatch|the sims|sims|dnd|d&d|dungeons|campaign|novel|story|book|movie|film|script|screenplay|play|my character|rpg|mmo)\b/u;

interface CategoryPatterns {
  category: RequestCategory;
  /** Need an asking/intending frame before them in the sentence. */
  framed: RegExp[];
  /** Harmful by themselves. */
  plain: RegExp[];
  /** Harmless readings: a sentence matching one of these is not counted. */
  except: RegExp[];
}

export class HarmfulRequestDetector implements TextDetector {
  private readonly patterns: CategoryPatterns;

  constructor(
    private readonly category: RequestCategory,
    lexicons: Lexicons,
  ) {
    this.patterns = buildPatterns(category, lexicons);
  }

  detect(text: NormalizedText): Detection | undefined {
    const { framed, plain, except } = this.patterns;
    for (const sentence of text.full.split(/(?<=[.!?;])\s+|\n+/u)) {
      if (except.some((r) => test(r, sentence)) || (this.category !== 'self_harm' && this.category !== 'minors' && test(GAME, sentence))) continue;
      const i = plain.findIndex((r) => test(r, sentence));
      if (i >= 0) return { score: 1, evidence: `harmful request (${this.category}) #${i + 1}` };
      const frame = firstFrame(sentence);
      if (frame < 0) continue;
      const j = framed.findIndex((r) => test(r, sentence.slice(frame)));
      if (j >= 0) return { score: 1, evidence: `harmful request (${this.category}) #${plain.length + j + 1}` };
    }
    return undefined;
  }
}

const FRAME_REGEX = compile(bounded(FRAME));
function firstFrame(sentence: string): number {
  FRAME_REGEX.lastIndex = 0;
  const m = FRAME_REGEX.exec(sentence);
  return m ? m.index : -1;
}

function test(regex: RegExp, text: string): boolean {
  regex.lastIndex = 0;
  return regex.test(text);
}

const near = (a: string, b: string, gap = 8) => `${a}(?:\\W+[\\p{L}\\p{N}'-]+){0,${gap}}?\\W+${b}`;

function buildPatterns(category: RequestCategory, lexicons: Lexicons): CategoryPatterns {
  const K = words(lexicons.violence);
  const P = words(lexicons.people);
  const M = words(lexicons.minors);
  const SEX = "(?:sex|sexual|sexually|sexy|nudes?|naked|nude pics|nude photos|porn|pornography|porno|erotic|sleep with|have sex|had sex|hook up with|make out with|seduce|groom|grooming|molest|fondle|touch (?:her|him|them) (?:inappropriately|sexually|down there)|fuck|bang|screw|attracted to|turned on by|crush on|fantasi[sz]e about|lust(?:ing)? (?:for|after)|hot for|in love with|date|dating|go out with|kiss|lingerie|underwear|undress|strip|jerk off|masturbate|get (?:her|him) alone|pictures of|photos of|pics of|videos of)";
  const b = (s: string) => compile(bounded(s));
  switch (category) {
    case 'violence':
      return {
        category,
        framed: [
          b(near(K, P, 1)),
          b("(?:get away with|cover up|hide|dispose of|get rid of) (?:a |the |my )?(?:murder|killing|body|bodies|corpse|dead body|crime|evidence of (?:a|the|my) (?:murder|crime))"),
          b(`make (?:it|a death|his death|her death|a murder|a killing) look like (?:an accident|a suicide|natural causes)`),
          b(`(?:find|get|buy|use|need) (?:a |some |an )?(?:gun|knife|weapon|rifle|pistol|poison|bat|machete|axe|hammer)(?:\\W+\\w+){0,4}\\W+(?:to |and |so i can )?${K}`),
          b("(?:shoot up|bomb|blow up|attack|set fire to|burn down|poison the water (?:of|in)|drive (?:a|my) (?:car|truck) into) (?:a |the |my |our |this )?(?:school|church|mosque|synagogue|temple|mall|office|class|classroom|crowd|concert|parade|festival|hospital|police station|government building|people|building|house|home|neighbou?rs?'? house)"),
          b("(?:untraceable|undetectable|odorless|odourless|tasteless) (?:poison|toxin|way to kill)"),
          b("(?:kidnap|abduct|torture|beat up|strangle|stab|shoot|poison|drown|smother|suffocate|behead|lynch|murder|kill|hurt|attack|assault|punch|maim|rape) (?:(?:a|some|the|that|this|my|his|her|their|our|random|old|young|little|homeless|black|white|gay|jewish|muslim|asian|mexican|trans) )*(?:\\w+ )?(?:person|people|man|men|woman|women|guy|girl|boy|kid|kids|child|children|baby|neighbou?r|neighbou?rs|stranger|strangers|family|dog|cat|puppy|kitten|horse|animal|animals|student|students|teacher|officer|cop|cops|witness|classmates?|coworkers?|boss|ex|wife|husband|girlfriend|boyfriend|partner|mother|father|mom|dad|brother|sister|son|daughter|grandma|grandpa|uncle|aunt|cousin|roommate|landlord|president|senator|politician|celebrity|bully)"),
          b("(?:mass shooting|mass murder|school shooting|terrorist attack|killing spree|hit list|kill list)"),
          b("(?:hire|find|pay) (?:a |an |someone to be a )?(?:hitman|hit man|assassin|contract killer|someone to (?:kill|hurt|beat up|take care of))"),
        ],
        plain: [b("i(?:'m| am) going to (?:kill|shoot|stab|murder) (?:everyone|everybody|people|them all|my (?:family|wife|husband|boss|class|classmates|teacher|parents))"), b("(?:how|where) (?:do|can) i (?:hire|find) a (?:hitman|hit man|assassin)")],
        except: [
          b(`(?:kill|killing|shoot|shooting|stab|attack|hurt|beat) (?:a |the |my |this |that )?(?:process|processes|task|tasks|job|jobs|program|app|application|server|thread|session|connection|query|engine|lights?|music|time|weeds?|mold|mould|bacteria|germs|virus|lice|fleas|ants|roaches|cockroaches|mice|rats|mosquitoes|flies|wasps|bugs|pests|termites|slugs|zombies?|monsters?|bosses|boss fight|dragon|enemy|enemies|npc|npcs|vibe|mood|buzz|conversation|battery|photo|photos|picture|pictures|video|videos|film|movie|scene|hoops|baskets|a basket|the breeze|the messenger|an email|a message|a text|the lights|two birds|it on stage|the record|the competition|the high score|my record|the clock|the ball|the puck|the goal|the target|targets|clay|skeet)`),
          b("(?:shoot|shooting|photograph|film|filming) (?:a |the |my |his |her |their |some )?(?:portrait|portraits|headshots?|wedding|photos?|pictures?|video|film|movie|scene|session|engagement|model|models|reel|documentary|commercial)"),
          b(`${near('(?:shoot|photograph|film)', '(?:photo|photos|picture|pictures|portrait|portraits|headshot|headshots|video|film|session|shoot)', 4)}`),
          b("(?:beat|beating) (?:my |him |her |them |the |a )?(?:\\w+ )?(?:at|in) (?:chess|cards|poker|tennis|a game|the game|golf|fifa|mario kart|arm wrestling|a race|checkers|scrabble|monopoly|sports|running|math|trivia)"),
          b("(?:kill|killing|killed|slay|slaying) (?:it|them) (?:on stage|tonight|at work|in the interview|with (?:that|this|your) (?:joke|outfit|look|performance))"),
          b("(?:killer|killers) (?:app|apps|feature|deal|workout|song|view|heels|look|smile)|dressed to kill|kill for (?:a|some|that)|could kill for|killing me|killing it|kills me|the suspense is killing|my feet are killing|dying to|to die for|drop dead gorgeous|knock (?:them|em) dead|break a leg|shot of espresso|flu shot|take a shot|give it a shot|a shot at|booster shot|photo shoot|shoot for the stars|shoot me an email|shoot me a message|shoot me a text|shoot the breeze"),
          b("(?:humanely|vet|veterinarian|euthanize|euthanise|put (?:my|our|the) (?:old |sick )?(?:dog|cat|pet|horse) (?:down|to sleep))"),
          b("(?:hurt|harm|hurting|harming) (?:his|her|their|your|my|anyone'?s|someone'?s|people'?s) (?:feelings|pride|chances|career|reputation)|without (?:hurting|harming|upsetting)|(?:not|never|don't|do not|avoid|stop) (?:to )?(?:hurt|harm|hurting|harming)|drown (?:\\w+ )?out|kill (?:them|him|her|people) with kindness|choke (?:on|up)|attack (?:the|this|a) (?:problem|question|issue|task|project)|run over (?:the|my|your|his|her) (?:notes|plan|lines|schedule|details|budget|time)"),
        ],
      };
    case 'weapons':
      return {
        category,
        framed: [
          b("(?:make|build|assemble|construct|create|cook|mix|brew|produce|synthesi[sz]e|3d print|print) (?:a |an |my own |some |homemade |home made |a homemade |a working |a real )?(?:bomb|bombs|pipe bomb|nail bomb|car bomb|dirty bomb|explosive|explosives|molotov|molotov cocktail|napalm|grenade|grenades|ied|ieds|detonator|landmine|nuke|nuclear bomb|bioweapon|chemical weapon|nerve agent|nerve gas|sarin|ricin|anthrax|mustard gas|chlorine gas|poison gas|toxic gas|thermite|tatp|c4|c-4|semtex|dynamite|gun|guns|firearm|pistol|rifle|shotgun|silencer|suppressor|ghost gun|zip gun|flamethrower|taser|crossbow bolt|poison|poisons)"),
          b("(?:buy|get|find|obtain|purchase|order|sell|smuggle|sneak) (?:a |an |some )?(?:gun|guns|firearm|firearms|pistol|handgun|rifle|ak ?47|ak-47|ar ?15|ar-15|glock|weapon|weapons|ammo|ammunition|explosives?|grenades?)(?:\\W+\\w+){0,4}\\W+(?:illegally|without (?:a |any )?(?:background check|licen[cs]e|permit|id|paperwork|record|anyone knowing)|off the books|untraceable|under the table|on the dark ?web|for cash|no questions asked|into (?:a |the )?(?:school|airport|plane|stadium|concert|courthouse))"),
          b("(?:untraceable|unregistered|ghost|illegal) (?:gun|guns|firearm|firearms|weapon|weapons|pistol|rifle)"),
          b("(?:convert|turn|make|modify) (?:a |an |my |the )?(?:gun|rifle|pistol|ar ?15|ar-15|glock|semi ?auto(?:matic)?)(?:\\W+\\w+){0,3}\\W+(?:fully )?(?:automatic|full auto)"),
          b("(?:sawed|sawn)[- ]off (?:shotgun|rifle)|(?:file|scratch|grind) off (?:the |a |its )?serial numbers?|remove (?:the |a |its )?serial numbers?"),
          b("(?:sneak|smuggle|bring|get|carry) (?:a |an |my )?(?:gun|knife|weapon|bomb|explosive)s? (?:into|through|past|onto) (?:a |the )?(?:school|airport|security|plane|stadium|concert|courthouse|metal detector|class)"),
        ],
        plain: [b("(?:recipe|instructions|blueprint|blueprints|schematics?|step by step guide) (?:for|to make|to build|of) (?:a |an )?(?:homemade |home made |diy |simple |working |small |powerful )?(?:bomb|pipe bomb|explosive|napalm|molotov|nerve agent|sarin|ricin|chemical weapon|bioweapon|ghost gun)")],
        except: [b("(?:bath|seed|glitter|photo|f|cherry|flavou?r|calorie|love|stink|smoke|sugar|bomb pop|truth|beer) bombs?|bomb (?:the|my|an|this|that) (?:exam|test|interview|audition|presentation|quiz)|bombed (?:the|my|an|that)|da bomb|the bomb|glue gun|nail gun|heat gun|water gun|nerf gun|squirt gun|spray gun|staple gun|caulk gun|massage gun|gun it|top gun|son of a gun|jump the gun|stick to your guns|big guns|airsoft|paintball|cap gun|toy gun|starter pistol|(?:history|movie|film|book|novel|game|documentary|museum|cosplay|prop|props|replica|costume)")],
      };
    case 'self_harm':
      return {
        category,
        framed: [
          b("(?:kill|hurt|harm|cut|hang|shoot|poison|drown|starve|burn|stab|off|end) (?:myself|my self|my life|me)"),
          b("(?:commit suicide|suicide|overdose|od|o\\.d\\.|slit my wrists|jump off (?:a|the) (?:bridge|building|roof|cliff)|end it all|end it|not wake up|not be here anymore|disappear forever|stop existing|die|be dead)"),
          b("(?:how many|how much) (?:\\w+ ){0,3}(?:pills|tablets|sleeping pills|paracetamol|tylenol|acetaminophen|ibuprofen|aspirin|xanax|insulin|benadryl|advil|oxy|oxycodone|vicodin|morphine|heroin|fentanyl)(?:\\W+\\w+){0,6}\\W+(?:die|dead|kill|lethal|fatal|overdose|od|never wake up|end it)"),
        ],
        plain: [
          b("i (?:really |just |honestly |seriously |kinda |kind of |sometimes |often |still )?(?:want|wanna|wish i could|am going|'m going|'m gonna|am gonna|plan|need|deserve|think i should|have to)(?: to)? (?:die|kill myself|end my life|end it all|end it|disappear|not exist|not wake up|hurt myself|cut myself|commit suicide)"),
          b("(?:i (?:don't|do not|no longer) want to (?:live|be alive|exist|be here|wake up)|i wish i (?:was|were) dead|i(?:'d| would) be better off dead|everyone would be better off without me|nobody would (?:miss|care if) me|no one would (?:miss|notice|care if) me|i(?:'m| am) going to jump|i(?:'ve| have) been cutting|i cut myself|i(?:'ve| have) been hurting myself|i hurt myself on purpose|suicidal|thinking (?:about|of) suicide|thinking (?:about|of) killing myself|thoughts of (?:suicide|killing myself|self harm|hurting myself)|self harm|self-harm|selfharm|there'?s no (?:point|reason) (?:in|to) (?:living|go on|going on|life)|can'?t go on (?:anymore|any more|like this|living)|ready to end it|goodbye forever|this is my last (?:day|night|message))"),
          b("(?:painless|quick|quickest|easiest|best|fastest|surest|least painful) (?:way|ways|method|methods) (?:to|of) (?:die|dying|kill myself|commit suicide|suicide|end my life|end it|overdose|od)"),
        ],
        except: [b("(?:dying to|die for|to die for|killing me|kill me now|killing myself laughing|laughed so hard|lol|lmao|haha|dying of laughter|die laughing|die of embarrassment|died laughing|die a little|could die happy|dying for a|i'd die for|would die for|kill myself (?:laughing|working|studying|at the gym)|hurt myself (?:playing|at|while|when|during|on|lifting|running|skiing|falling|in a|by accident|accidentally|last|yesterday|today|this)|cut myself (?:shaving|cooking|while|when|on|by accident|accidentally|chopping|a slice|a piece|some slack)|burn(?:ed|t)? myself (?:cooking|on|while|with|making|ironing)|starve myself (?:of|for)|end my (?:day|shift|week|night|session|subscription|contract|lease|streak)|die (?:hard|out|down|off)|die hard|plants? (?:to )?die|battery|phone|car|laptop|my (?:plant|plants|fish|goldfish) (?:die|died|dying))")],
      };
    case 'crime':
      return {
        category,
        framed: [
          b("(?:steal|shoplift|rob|burgle|burglari[sz]e|mug|pickpocket|loot|embezzle|pilfer) (?:(?:from|a|an|the|my|his|her|their|some|someone'?s|people'?s|money|stuff|things|cash|from a|from the|from my) ?)+(?:\\w+ ){0,3}(?:store|shop|bank|house|home|car|cars|wallet|purse|money|cash|credit card|identity|bike|phone|jewelry|jewellery|package|packages|mail|gas station|atm|register|till|boss|employer|work|job|company|neighbou?r|grandma|parents|friend|roommate|walmart|target|supermarket|mall|pharmacy|catalytic converter|anything|something|stuff|things|clothes|food|gas|electricity|wifi|cable|netflix)"),
          b("(?:steal|shoplift|rob|burgle|embezzle)(?:\\W|$)(?!the show|a kiss|a glance|a look|the spotlight|the limelight|a base|second base|third base|home|hearts?|my heart|your heart|the thunder|a march|the scene|a moment|a win|the win|a point)"),
          b("(?:break|breaking|get|sneak) into (?:a |an |the |my (?:neighbou?r'?s?|ex'?s?|ex-\\w+'?s?|boss'?s?|friend'?s?) |someone'?s |somebody'?s |his |her |their |people'?s )(?:house|home|car|apartment|flat|account|phone|email|computer|laptop|safe|store|shop|office|locker|garage|shed|building|school|vault|atm|bank|instagram|facebook|snapchat|icloud)"),
          b("(?:hack|hacking|hack into|crack|break into) (?:(?:a|an|the|his|her|their|someone'?s|somebody'?s|people'?s|my (?:\\w+)'?s|my ex'?s|my wife'?s|my husband'?s|my girlfriend'?s|my boyfriend'?s|my partner'?s|my boss'?s|my neighbou?r'?s|the school'?s|the government'?s|a bank'?s|a company'?s) )+(?:\\w+ )?(?:account|accounts|email|phone|computer|wifi|wi-fi|instagram|facebook|snapchat|tiktok|twitter|bank|bank account|network|server|servers|camera|database|website|system|password|passwords|icloud|gmail|whatsapp|texts|messages|grades|records)"),
          b("(?:get|find|steal|guess|crack|figure out|obtain|see) (?:someone'?s|somebody'?s|his|her|their|my (?:\\w+ )?(?:wife|husband|girlfriend|boyfriend|partner|ex|boss|neighbou?r|friend|coworker|roommate|sister|brother|mom|dad)'?s) (?:password|passwords|pin|login|credit card|card number|social security|ssn|bank details|address|home address)"),
          b("(?:launder|laundering) (?:money|cash|funds|the money)|(?:counterfeit|fake|forged) (?:money|bills|cash|currency|ids?|passports?|documents?|prescriptions?|doctor'?s notes?|checks?|cheques?|diplomas?|degrees?|licen[cs]es?|driver'?s licen[cs]es?|social security cards?)|(?:forge|fake) (?:a |an |my |his |her |someone'?s |the )?(?:signature|check|cheque|document|prescription|will|id|passport|note)"),
          b("(?:cook|make|brew|produce|synthesi[sz]e|manufacture|grow|extract) (?:some |my own |a batch of |pure )?(?:meth|methamphetamine|crystal meth|crack|cocaine|heroin|lsd|mdma|ecstasy|molly|fentanyl|ghb|dmt|pcp|ketamine|opium|shrooms|magic mushrooms|drugs)"),
          b("(?:buy|get|score|find|order|sell|deal|push|smuggle|traffic|ship|mail|move|hide) (?:some |a gram of |an ounce of |a bag of |pure |cheap )?(?:meth|crystal meth|crack|cocaine|heroin|lsd|mdma|ecstasy|molly|fentanyl|ghb|dmt|pcp|ketamine|oxycontin|percocet|illegal drugs|street drugs|drugs|marijuana|shrooms|roofies|rohypnol|date rape drugs?)(?!\\w)(?! (?:test|testing|rehab|treatment|addiction|policy|laws?|history|prices? in (?:the|a) (?:documentary|study)))"),
          b("(?:smuggle|traffic|trafficking) (?:people|humans|children|kids|girls|women|migrants|immigrants|organs|drugs|guns|weapons|animals|ivory|cash|money)|human trafficking|sex trafficking"),
          b("(?:hotwire|steal|jack|carjack|boost) (?:a |an |the |my neighbou?r'?s |someone'?s |this )?(?:car|cars|truck|motorcycle|bike|vehicle|ride)"),
          b("(?:slash|puncture|let the air out of|key|scratch|vandali[sz]e|spray paint|egg|tp|trash|wreck|smash) (?:(?:a|the|my|his|her|their|someone'?s|my neighbou?r'?s|my ex'?s|my boss'?s|the neighbou?r'?s) )?(?:tires|tyres|car|house|windows?|property|mailbox|fence|store|school|walls?)"),
          b("(?:get away with|without getting caught|without anyone (?:knowing|noticing|finding out)|so (?:no one|nobody) (?:knows|finds out|notices)|without leaving (?:any )?(?:evidence|traces?|fingerprints|dna)|cover my tracks|destroy (?:the )?evidence|avoid (?:the )?police|evade (?:the )?police|outrun the cops|lose the cops|fool a drug test|pass a drug test|cheat a drug test|beat a (?:drug test|breathalyzer|polygraph))"),
          b("(?:cheat|cheating) on (?:my |our |the )?taxes|(?:evade|dodge|avoid paying|not pay) (?:my |our |any |the )?taxes(?! legally)|tax (?:fraud|evasion)|insurance fraud|(?:commit|do|get away with) (?:fraud|a crime|crimes|arson|a robbery|robbery|theft|burglary|a burglary|identity theft|credit card fraud|perjury|bribery|blackmail|extortion|vandalism)"),
          b("(?:scam|con|defraud|swindle|fleece|rip off|trick) (?:(?:some|an|a|the|my|old|elderly|lonely|vulnerable|rich) )*(?:people|person|someone|somebody|grandma|grandpa|old lady|old man|elderly|seniors|customers|investors|victims|tourists|kids|company|employer|insurance|government|bank|neighbou?r|friend|family|them|him|her|out of (?:their|his|her) money)"),
          b("(?:phishing|phish|ransomware|keylogger|spyware|malware|trojan|botnet|ddos|dos attack|credit card skimmer|skimmer|card skimming|sim swap|carding)"),
          b("(?:write|make|create|code|build|deploy|spread) (?:a |an |some )?(?:virus|computer virus|malware|worm|trojan|ransomware|keylogger|exploit|rootkit|botnet|phishing (?:email|site|page|link|kit))"),
          b("(?:bribe|blackmail|extort|threaten) (?:a |an |the |my |his |her |their |some )?(?:cop|cops|judge|official|police|officer|inspector|politician|teacher|professor|boss|witness|jury|juror|coworker|neighbou?r|ex|someone|somebody|him|her|them|people|customs)"),
          b("(?:buy|sell|get|purchase|adopt illegally|traffic) (?:a |an )?(?:child|kid|baby|babies|children|kids|person|people|slave|slaves|wife|bride|girl|girls|boy|boys|human|humans|organ|kidney|liver)(?! (?:clothes|clothing|toys?|food|formula|seat|car seat|stroller|crib|gift|gifts|books?|shoes|present|presents|carrier|monitor|bottles?|a gift|a present|bike|bicycle|phone|tablet|laptop))"),
          b("(?:pick|picking|open|bypass|jimmy) (?:a |the |my neighbou?r'?s |someone'?s |his |her |their )(?:lock|locks|door|padlock|safe)(?! (?:i|that i) (?:own|locked myself out))(?=.*(?:neighbou?r|someone|somebody|his|her|their|not mine|isn'?t mine|without (?:them|him|her) knowing))"),
          b("(?:dognap|catnap|kidnap) "),
          b("(?:fake|stage|set up) (?:an? )?(?:accident|injury|car crash|robbery|break-?in|death|kidnapping) (?:for|to get|to claim|to collect) (?:the )?(?:insurance|money|payout|compensation)"),
          b("(?:sneak|get|smuggle|bring) (?:\\w+ ){0,3}(?:past|through|across) (?:security|customs|the border|border control|tsa)(?! (?:legally|with a permit))|cross the border illegally|illegal(?:ly)? (?:immigrate|cross|enter|work|download|stream)|pirate (?:movies|films|software|games|music|windows|photoshop)|torrent (?:movies|films|games|software)"),
          b("(?:drive|driving) (?:drunk|high|while drunk|while high|after drinking)(?! is| was)"),
          b("(?:join|start|recruit for|fund|support) (?:a |an |the )?(?:gang|cartel|terrorist|militia|isis|al qaeda|mafia)"),
        ],
        plain: [b("(?:where|how) (?:can|do) i (?:buy|get|find) (?:a |an )?(?:child|kid|baby|slave|wife|bride)(?! (?:clothes|toys?|food|formula|seat|stroller|crib|gift|books?|shoes|present|carrier|monitor))"), b("(?:looking for|want to find|trying to find) (?:a )?place (?:where|to) (?:we |i )?(?:can )?buy (?:a |an )?(?:child|kid|baby|slave|person|girl|boy)")],
        except: [b("(?:steal|stole|stealing|steals) (?:the show|a kiss|a glance|a look|the spotlight|the limelight|a base|second base|hearts?|my heart|your heart|his heart|her heart|the thunder|a march|the scene|a moment|the win|the game|the ball|the puck|a point|some time|a nap|a minute|the idea|ideas|a recipe|this recipe|that recipe|your recipe|my recipe|the design|that look|this look)|(?:life )?hacks?(?! into)|hack (?:together|up|my (?:productivity|sleep|morning|routine|life)|a solution|a script|a prototype|around|it)|hackathon|growth hack|break into (?:the |a )?(?:industry|market|business|music|film|acting|tech|field|career|modeling|modelling|conversation|song|dance|a smile|a run|a sweat|tears|laughter)|rob (?:me|us) blind|highway robbery|daylight robbery|(?:movie|film|book|novel|show|documentary|series|podcast|game|heist movie|history|story|plot|character|article|essay|research|study|class|course|lesson|law|laws|legal|legally|illegal to|is it illegal|police report|report (?:a|the|it)|victim|was robbed|got robbed|got scammed|been scammed|was scammed|avoid (?:getting|being) (?:scammed|robbed|hacked|phished)|protect (?:myself|my|against|from)|prevent|recogni[sz]e|spot a|detect|defend|stay safe|keep safe|secure|security awareness|ethical hack|penetration test|pen test|capture the flag|ctf|my own (?:account|phone|car|house|computer|lock|door|safe)|locked (?:myself|my keys) out|forgot my (?:own )?password|reset my password|recover my (?:account|password)|tax return|tax deductions?|lower my taxes|pay less tax legally|tax credits?|steal(?:ing)? (?:my|our) (?:show|thunder))")],
      };
    case 'minors':
      return {
        category,
        framed: [b(near(SEX, M, 6)), b(near(M, SEX, 6))],
        plain: [
          b("(?:child|kiddie|kiddy|underage|preteen|teen|minor|toddler|baby|loli|jailbait|young girl|young boy|little girl|little boy|schoolgirl)s? (?:porn|pornography|nudes?|naked (?:pics|pictures|photos|videos)|sex|sex videos?|erotica|sexual (?:pics|pictures|photos|videos|content|images))|\\bcp\\b|csam|pedo(?:phile)? (?:porn|content|forum|pics)|lolicon|shotacon"),
          b(`(?:i(?:'m| am) a |as a )(?:teacher|coach|tutor|babysitter|nanny|youth pastor|pastor|priest|scout leader|camp counselor|counselor|principal|stepdad|stepfather|step dad)(?:\\W+[\\p{L}']+){0,12}?\\W+(?:attracted to|crush on|in love with|turned on by|fantasi[sz]e about|want to (?:kiss|touch|date|sleep with|be with)|sleep with|date|dating|kiss|kissed|touched|seduce|sexual|sex with|hook up with) (?:(?:one|some) of )?(?:my |a |the |this |that )?(?:students?|pupils?|kids?|players?|campers?|scouts?|stepdaughter|stepson|child|children|girl|boy|altar boys?|choir boys?|athletes?|tutees?|charges?)`),
          b("(?:(?:1[0-7]|[1-9])|(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|nine|eight|seven|six|five))[ -]?(?:year|yr)s?[ -]?olds?(?:\\W+[\\p{L}']+){0,8}?\\W+(?:sex|sexy|hot|naked|nude|nudes|porn|date|dating|sleep with|hook up|seduce|attracted|kiss|make out|turned on|bang|fuck)|(?:sex|sexy|hot|naked|nude|nudes|porn|date|dating|sleep with|hook up with|seduce|attracted to|kiss|make out with|turned on by|bang|fuck)(?:\\W+[\\p{L}']+){0,6}?\\W+(?:(?:1[0-7]|[1-9])|(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|nine|eight|seven|six|five))[ -]?(?:year|yr)s?[ -]?olds?"),
        ],
        except: [b("(?:sex ed|sex education|sexual education|puberty|the talk|birds and the bees|consent|body safety|good touch|bad touch|protect (?:my|our|the|a) (?:kids?|child|children|daughter|son|students?)|keep (?:my|our|the) (?:kids?|child|children|daughter|son) safe|report (?:abuse|a predator|grooming)|signs of (?:grooming|abuse)|recogni[sz]e (?:grooming|abuse)|was (?:abused|molested|groomed)|were (?:abused|molested)|survivor|therapy|talk to (?:my |our )?(?:kids?|child|children|daughter|son|teen|teens|students?) about|explain (?:sex|puberty|periods|consent)|baby shower|date night|play ?date|due date|dating app for (?:adults|single parents)|my (?:kids?|children|son|daughter) (?:is|are) dating|(?:son|daughter) has a crush|teen (?:dating|relationships?) (?:advice|violence)|adopt)")],
      };
    case 'abuse':
      return {
        category,
        framed: [
          b("(?:hit|beat|slap|punch|kick|choke|strangle|whip|burn|starve|smack|shake|lock|tie up|throw) (?:my |our |his |her |the |a )?(?:wife|husband|girlfriend|gf|boyfriend|bf|partner|spouse|kid|kids|child|children|son|daughter|baby|toddler|stepson|stepdaughter|dog|puppy|cat|kitten|pet|horse|elderly (?:mother|father|parent|mom|dad)|mom|mother|dad|father|grandma|grandpa|sister|brother|girl|woman|women)(?! (?:up|back)\\b)(?:(?:\\W+\\w+){0,8}\\W+(?:without|so|and|until|when|if|to|for|harder|properly|right|good|enough|marks|bruises|evidence|anyone|learn|listen|obey|shut up|behave|stop|knowing))?"),
          b("(?:control|manipulate|gaslight|isolate|stalk|track|spy on|monitor|follow|trap|intimidate|scare|frighten|terrori[sz]e|threaten|humiliate|punish|own|break|dominate|silence) (?:my |our |his |her |the |a )?(?:ex|ex wife|ex husband|ex girlfriend|ex boyfriend|wife|husband|girlfriend|gf|boyfriend|bf|partner|spouse|fianc[eé]e?|crush|coworker|neighbou?r|classmate|teacher|boss|kids?|child|children|daughter|son|mom|dad|sister|brother|roommate|her|him|them|someone|somebody|a girl|a woman|women|girls)(?:\\W+\\w+){0,8}?\\W*(?:without|so|into|until|secretly|and|to|with|from|every|all|$)"),
          b("(?:read|see|check|access|get into|look through|go through|track|monitor|intercept) (?:my |his |her |their )?(?:ex|ex'?s|wife'?s|husband'?s|girlfriend'?s|boyfriend'?s|partner'?s|spouse'?s|daughter'?s|son'?s|roommate'?s|coworker'?s|neighbou?r'?s|boss'?s|someone'?s|somebody'?s|her|his)? ?(?:texts|messages|emails|email|phone|dms|whatsapp|location|gps|calls|browser history|search history|snapchat|instagram)(?:\\W+\\w+){0,6}\\W+(?:without (?:(?:her|him|them) )?(?:knowing|noticing|consent|permission|finding out)|secretly|in secret|behind (?:her|his|their) back)"),
          b("(?:make|force|pressure|get|trick|drug|convince|coerce) (?:my |a |the |this |that )?(?:wife|husband|girlfriend|gf|boyfriend|bf|partner|her|him|girl|woman|date|coworker|friend|classmate|someone) (?:to |into )?(?:have sex|sleep with me|sleep with|do (?:sexual|sex)|give me|send (?:me )?nudes|send (?:me )?pics|get naked|undress|stay with me|obey|do what i (?:say|want)|have an abortion|drink|take (?:drugs|the pill))"),
          b("(?:get revenge on|take revenge on|get back at|ruin (?:the )?(?:life|lives) of|ruin (?:my |his |her |their )?(?:ex'?s?|boss'?s?|coworker'?s?|neighbou?r'?s?|teacher'?s?|friend'?s?|sister'?s?|brother'?s?)? ?(?:life|career|marriage|reputation)|make (?:my |his |her )?(?:ex|boss|coworker|neighbou?r|teacher|classmate|her|him|them|sister|brother|roommate|stepmom|stepdad) (?:suffer|pay|miserable|cry|regret)|destroy (?:my |his |her )?(?:ex|boss|coworker|neighbou?r|teacher|classmate|her|him|them)(?:'s)?(?: life| reputation| career)?|humiliate (?:my |his |her |a |the )?(?:\\w+ )?(?:ex|boss|coworker|neighbou?r|teacher|classmate|her|him|them|girl|boy|kid|student|friend)|bully (?:a |my |the |this |that |some )?(?:\\w+ )?(?:kid|girl|boy|classmate|coworker|student|person|someone|him|her|them|new kid|fat kid)|cyberbully|dox|doxx|swat (?:him|her|them|someone|my)|leak (?:my |his |her |their |someone'?s )?(?:ex'?s |girlfriend'?s |boyfriend'?s )?(?:nudes|naked pictures|naked photos|private (?:photos|pictures|videos)|sex tape|address)|revenge porn|spread (?:rumou?rs|lies) about)"),
          b("(?:poison|drown|torture|hurt|kill|abuse|starve|set fire to|burn|beat|kick) (?:my |the |our |a |his |her |their )?(?:neighbou?r'?s |ex'?s |roommate'?s |stepmom'?s |stepdad'?s |sister'?s |brother'?s |friend'?s )?(?:dog|dogs|cat|cats|puppy|puppies|kitten|kittens|horse|pet|pets|bird|parrot|hamster|rabbit|fish|goat|cow|pig|chicken|chickens|animals)"),
          b("(?:drug|spike|roofie|put (?:something|drugs|pills|a pill) in) (?:her|his|their|my (?:date|friend|girlfriend|boyfriend|wife|husband|coworker)'?s?|someone'?s|a girl'?s|a woman'?s|the)? ?(?:drink|drinks|food|coffee|tea|beer|wine)?"),
        ],
        plain: [b("(?:hit|beat|slap|punch|choke|strangle|burn) (?:my |a )?(?:wife|husband|girlfriend|boyfriend|partner|kid|kids|child|children|son|daughter|baby|dog|cat|pet)(?:\\W+\\w+){0,5}\\W+without (?:leaving )?(?:any )?(?:marks|bruises|evidence|a trace|anyone (?:knowing|noticing)|getting caught)")],
        except: [b("(?:hit (?:him|her|them|me|us) up|hit (?:my|the) (?:dog|cat|kid|kids)'?s? (?:bowl|toy|ball)|track (?:my|our) (?:kids?|child|children|son|daughter|teen)'?s? (?:phone|location) (?:for safety|to keep|because)|(?:kid|kids|child|children|son|daughter|teen) (?:safety|safe)|how to (?:help|support|comfort|protect)|protect (?:my|her|him|them)|get away from|escape|leave (?:my|an) abusive|is being abused|was abused|i(?:'m| am) being (?:abused|hit|beaten|stalked|threatened)|(?:he|she|they) (?:hits|beats|hit|beat|threatens|stalks|controls) me|report (?:abuse|him|her|them|a bully|bullying)|stop (?:a |the )?bull(?:y|ies|ying)|deal with (?:a |my )?bull(?:y|ies)|bullied|help (?:a|my) friend|domestic violence (?:hotline|shelter|help)|train (?:my|a|the) (?:dog|puppy|cat)|discipline (?:my|a) (?:dog|puppy|child|kid) (?:without|positively|gently)|get revenge on (?:a|the) (?:level|boss fight|game|team|video game)|beat (?:my|the) (?:dog|kid|kids|brother|sister|wife|husband|girlfriend|boyfriend|dad|mom) (?:at|in))")],
      };
  }
}
