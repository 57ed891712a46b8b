/**
 * The facts people ask a persona about first (name, age, children, marriage, pets, job, diet,
 * where they live), read from first-person statements by rules. Two statements of one topic
 * contradict when they cannot both be true of one speaker ("I have two kids" / "I don't have any
 * children"; "My name is banter." / "My name is George."); they agree when they state the same
 * value. Anything the rules do not read is neither: a soft score covers the rest.
 */

export type Topic = 'name' | 'age' | 'children' | 'marriage' | 'pets' | 'job' | 'diet' | 'location';

export interface Fact {
  topic: Topic;
  /** What is stated: a name, a number, a species, an occupation, "vegan", a place; "" for yes/no topics. */
  value: string;
  /** False for a denial: "I don't have pets", "I'm single". */
  holds: boolean;
}

const NUMBER_WORDS: Record<string, string> = { a: '1', an: '1', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6' };
const PETS = 'dogs?|puppy|puppies|cats?|kittens?|kitty|fish|goldfish|hamsters?|rabbits?|bunny|parrots?|birds?|horses?|snakes?|turtles?|lizards?|guinea pigs?|ferrets?';
const JOBS = [
  'teacher', 'nurse', 'doctor', 'lawyer', 'engineer', 'student', 'chef', 'cook', 'waiter', 'waitress', 'accountant',
  'programmer', 'developer', 'writer', 'author', 'artist', 'musician', 'singer', 'actor', 'actress', 'farmer', 'pilot',
  'firefighter', 'police officer', 'cop', 'mechanic', 'electrician', 'plumber', 'carpenter', 'dentist', 'pharmacist',
  'veterinarian', 'vet', 'scientist', 'professor', 'librarian', 'cashier', 'barista', 'bartender', 'truck driver',
  'driver', 'photographer', 'designer', 'architect', 'journalist', 'soldier', 'salesman', 'manager', 'secretary',
  'receptionist', 'janitor', 'baker', 'butcher', 'hairdresser', 'stylist', 'therapist', 'psychologist', 'surgeon',
  'paramedic', 'realtor', 'banker', 'retiree', 'housewife', 'stay at home mom', 'stay at home dad', 'mom', 'dad',
  'coach', 'athlete', 'dancer', 'model', 'painter', 'editor', 'consultant', 'analyst', 'clerk', 'tutor', 'researcher',
];
const MEAT = /\b(?:meat|steak|bacon|pepperoni|burgers?|hamburgers?|chicken|pork|beef|ham|sausages?|hot dogs?|ribs|brisket|barbecue|bbq|turkey|lamb|salami|jerky)\b/;
const NEGATED = /\b(?:not|no|never|don't|dont|do not|doesn't|didn't|can't|cannot|won't|isn't|aren't|haven't|hate|dislike)\b/;

const jobPattern = new RegExp(`\\b(${JOBS.map((job) => job.replace(/ /g, '\\s+')).join('|')})s?\\b`);

/** Facts stated by `text`, one per topic at most (the first statement wins). Questions state nothing. */
export function factsOf(text: string): Fact[] {
  const facts = new Map<Topic, Fact>();
  const add = (fact: Fact) => {
    if (!facts.has(fact.topic)) facts.set(fact.topic, fact);
  };
  const source = text.replace(/[’‘]/g, "'");
  readGreetingName(source, add);
  for (const raw of source.split(/(?<=[.!?;])\s+|\s+(?:but|and|so)\s+(?=i\b)/i)) {
    if (raw.trim().endsWith('?')) continue;
    const sentence = ` ${raw.toLowerCase().replace(/\s+/g, ' ')} `;
    const original = ` ${raw.replace(/\s+/g, ' ')} `;
    readName(original, add);
    readAge(sentence, add);
    readChildren(sentence, add);
    readMarriage(sentence, add);
    readPets(sentence, add);
    readJob(sentence, add);
    readDiet(sentence, add);
    readLocation(sentence, add);
  }
  return [...facts.values()];
}

/** Whether two facts of one topic cannot both hold; `false` when the topics differ. */
export function contradicts(a: Fact, b: Fact): boolean {
  if (a.topic !== b.topic) return false;
  if (a.holds !== b.holds) {
    // "I have a dog" does not contradict "I don't have a cat"; it does contradict "I have no pets".
    return a.value === '' || b.value === '' || a.value === b.value || a.topic === 'diet';
  }
  if (!a.holds) return false;
  switch (a.topic) {
    case 'name':
    case 'age':
      return a.value !== b.value;
    case 'children':
      return a.value !== '' && b.value !== '' && a.value !== b.value;
    case 'diet':
      return (a.value === 'meat') !== (b.value === 'meat');
    case 'location':
      // Only two named places compare: "a small town" may well be in Ohio.
      return isNamedPlace(a.value) && isNamedPlace(b.value) && !a.value.split(' ').some((word) => b.value.split(' ').includes(word));
    case 'job':
      return a.value !== b.value && !['retiree', 'student', 'mom', 'dad'].some((soft) => [a.value, b.value].includes(soft));
    default:
      return false;
  }
}

/** Whether `said` states the same thing as `known`. */
export function agrees(known: Fact, said: Fact): boolean {
  if (known.topic !== said.topic || known.holds !== said.holds) return false;
  if (known.topic === 'diet') return (known.value === 'meat') === (said.value === 'meat');
  if (known.topic === 'location') return known.value.split(' ').some((word) => word.length > 2 && said.value.split(' ').includes(word));
  return known.value === said.value || known.value === '' || said.value === '';
}

/** The topic a message asks the bot about, if it is one of the facts above. */
export function askedTopic(message: string): Topic | undefined {
  const text = message.toLowerCase().replace(/[’‘]/g, "'");
  if (/\b(?:your name|who are you|what(?:'s| is| do) (?:people )?call you)\b/.test(text)) return 'name';
  if (/\b(?:how old|your age)\b/.test(text)) return 'age';
  if (/\b(?:kids|children|child|sons?|daughters?)\b/.test(text)) return 'children';
  if (/\b(?:married|wife|husband|single|partner|spouse)\b/.test(text)) return 'marriage';
  if (/\b(?:pets?|dogs?|cats?|animals?)\b/.test(text)) return 'pets';
  if (/\b(?:for a living|your job|what do you do|where do you work|work as|occupation|profession)\b/.test(text)) return 'job';
  if (/\b(?:eat|food|meat|vegan|vegetarian|diet|dinner|lunch)\b/.test(text)) return 'diet';
  if (/\b(?:where do you live|where are you from|where(?:'s| is) home|live near|which city|what city|your hometown)\b/.test(text)) return 'location';
  return undefined;
}

/** A greeting's self-introduction, "Hi, I'm Sam." / "Hello! I am George and ...": one capitalized word. */
const GREETING_INTRODUCTION = /\b(?:hi|hello|hey|hiya)(?: there)?\s*[,!.]?\s+i(?:'m| am)\s+([A-Z][\w-]*)(?=\s*(?:[.,!]|$|and\b))/i;
const NOT_A_NAME = /^(?:not|a|an|the|good|fine|great|okay|ok|well|doing|so|sorry|here|back|happy|glad|new|just|also|very|really|excited)$/i;

function readName(sentence: string, add: (fact: Fact) => void): void {
  const match = /\b(?:my name is|my name's|call me|i am called|i'm called)\s+([A-Za-z][\w-]*)/i.exec(sentence);
  if (match && !NOT_A_NAME.test(match[1])) add({ topic: 'name', value: match[1].toLowerCase(), holds: true });
}

/** Read on the whole text: "Hello! I'm Sam." spans two sentences. The name needs a capital: "hi, i'm good" is none. */
function readGreetingName(text: string, add: (fact: Fact) => void): void {
  const introduction = GREETING_INTRODUCTION.exec(text);
  if (introduction && /^[A-Z]/.test(introduction[1]) && !NOT_A_NAME.test(introduction[1])) add({ topic: 'name', value: introduction[1].toLowerCase(), holds: true });
}

function readAge(sentence: string, add: (fact: Fact) => void): void {
  const match = /\bi(?:'m| am) (\d{1,3})(?: years? old| yrs? old|\s*[.!,]| and| now)/.exec(sentence) ?? /\bi(?:'m| am) (?:an? )?(\d{1,3})[- ]years?[- ]old\b/.exec(sentence);
  if (match) add({ topic: 'age', value: match[1], holds: true });
}

function readChildren(sentence: string, add: (fact: Fact) => void): void {
  if (/\b(?:(?:don't|do not|never) (?:have|had|want) (?:any )?(?:kids|children|a child)|no (?:kids|children)|childless)\b/.test(sentence)) {
    add({ topic: 'children', value: '', holds: false });
    return;
  }
  const have = /\bi (?:have|have got|got) (a|an|one|two|three|four|five|six|\d+) (?:\w+ )?(?:kids?|children|child|sons?|daughters?|boys|girls)\b/.exec(sentence);
  if (have && !NEGATED.test(sentence.slice(0, have.index + 2))) {
    add({ topic: 'children', value: NUMBER_WORDS[have[1]] ?? have[1], holds: true });
    return;
  }
  if (/\b(?:i have (?:kids|children)|my (?:kids|children|son|daughter|sons|daughters)\b|i'm a (?:mom|dad|mother|father)|i am a (?:mom|dad|mother|father)|mother of|father of)/.test(sentence) && !NEGATED.test(sentence)) {
    add({ topic: 'children', value: '', holds: true });
  }
}

function readMarriage(sentence: string, add: (fact: Fact) => void): void {
  if (/\b(?:unmarried|not married|never (?:been )?married|i(?:'m| am) single|divorced|widowed|i(?:'m| am) a widow(?:er)?)\b/.test(sentence)) {
    add({ topic: 'marriage', value: '', holds: false });
  } else if (/\b(?:i(?:'m| am) (?:happily )?married|my (?:wife|husband|spouse)\b|i have a (?:wife|husband))/.test(sentence) && !NEGATED.test(sentence)) {
    add({ topic: 'marriage', value: '', holds: true });
  }
}

function readPets(sentence: string, add: (fact: Fact) => void): void {
  const denial = new RegExp(`\\b(?:(?:don't|do not|never) (?:have|own|had) (?:any |a |an )?(${PETS}|pets?|animals)|no (?:pets|animals)|allergic to (?:animals|pets))\\b`).exec(sentence);
  if (denial) {
    add({ topic: 'pets', value: denial[1] && !/^(?:pets?|animals)$/.test(denial[1]) ? species(denial[1]) : '', holds: false });
    return;
  }
  const have = new RegExp(`\\b(?:i (?:have|own|got|have got)(?: a| an| one| two| three| four| \\d+)?(?: \\w+)? (${PETS})|my (?:\\w+ )?(${PETS}))\\b`).exec(sentence);
  if (have && !NEGATED.test(sentence.slice(0, have.index + 2))) add({ topic: 'pets', value: species(have[1] ?? have[2]), holds: true });
  else if (/\bi have (?:a |some |two |three )?pets?\b/.test(sentence) && !NEGATED.test(sentence)) add({ topic: 'pets', value: '', holds: true });
}

function species(word: string): string {
  const base = word.replace(/(?:ies)$/, 'y').replace(/s$/, '');
  return ({ puppy: 'dog', kitten: 'cat', kitty: 'cat', bunny: 'rabbit', goldfish: 'fish', parrot: 'bird' } as Record<string, string>)[base] ?? base;
}

function readJob(sentence: string, add: (fact: Fact) => void): void {
  const lead = /\b(?:i(?:'m| am)(?: a| an)?|i work as(?: a| an)?|i work at \w+ as(?: a| an)?|my job as(?: a| an)?) /.exec(sentence);
  if (!lead || NEGATED.test(sentence.slice(lead.index, lead.index + lead[0].length + 4))) return;
  // The occupation within the next three words: "I'm a retired school teacher", not "I'm a fan of the actor".
  const near = sentence.slice(lead.index + lead[0].length).split(/[,.!;]/)[0].split(' ').slice(0, 4).join(' ');
  const job = jobPattern.exec(near);
  if (!job) return;
  const value = /\bretired\b/.test(near.slice(0, job.index)) ? 'retiree' : job[1].replace(/\s+/g, ' ');
  add({ topic: 'job', value: ({ cop: 'police officer', vet: 'veterinarian' } as Record<string, string>)[value] ?? value, holds: true });
}

function readDiet(sentence: string, add: (fact: Fact) => void): void {
  const veg = /\b(vegan|vegetarian)\b/.exec(sentence);
  if (veg) {
    add({ topic: 'diet', value: 'vegetarian', holds: !/\b(?:not|never|no longer|used to be)\b[^.]*\b(?:vegan|vegetarian)\b/.test(sentence) });
    return;
  }
  if (/\b(?:i don't eat|i do not eat|i never eat|i stopped eating|i gave up) (?:any )?(?:meat|animal)/.test(sentence)) {
    add({ topic: 'diet', value: 'vegetarian', holds: true });
    return;
  }
  // "I love pepperoni pizza", "my favorite is steak": the words from the speaker to the meat are not negated.
  const eats = new RegExp(`\\b(?:i|my)\\b([^.!?]*?)\\b(?:love|like|eat|ate|eating|had|favorite|enjoy|grill|cook|making|made)\\b([^.!?]*?)${MEAT.source}`).exec(sentence);
  if (eats && !NEGATED.test(`${eats[1]} ${eats[2]}`)) add({ topic: 'diet', value: 'meat', holds: true });
}

function readLocation(sentence: string, add: (fact: Fact) => void): void {
  const match = /\bi (?:live|grew up|am living|'m living) (?:in|near|on) ((?:the |a |an )?[a-z][a-z. ]*)|\bi(?:'m| am) from ((?:the )?[a-z][a-z. ]*)/.exec(sentence);
  if (!match || NEGATED.test(sentence.slice(0, match.index + 2))) return;
  const place = (match[1] ?? match[2]).split(/\s+(?:with|and|but|where|because|so|for|since|now|right|too|which|that)\b/)[0].trim().replace(/\.$/, '');
  if (place) add({ topic: 'location', value: place, holds: true });
}

/** "a small town", "the city", "suburbs": no named place ("New York City" is one). */
const GENERIC_PLACE = /^(?:(?:a|an|the|my|our|this|that|some)\b.*|(?:\w+ )?(?:town|city|village|house|apartment|area|suburbs?|country|countryside|farm|place|neighborhood|state|usa|us))$/;

function isNamedPlace(place: string): boolean {
  return !GENERIC_PLACE.test(place);
}
